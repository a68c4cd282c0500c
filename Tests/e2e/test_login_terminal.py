"""Issue 7, the terminal: `latchkey login` driven in a pseudo-terminal, as a person at a
terminal (or over SSH) sees it: the link, the code, a QR block of the link and a countdown;
Ctrl-C (the terminal's interrupt character) cancels the sign-in at the daemon too. Without a
terminal the same sign-in prints plain lines and no QR block."""

import fcntl
import os
import re
import select
import subprocess
import termios
import time

import qrcode

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def spawn_in_pty(latchkey, *args):
    master, slave = os.openpty()

    def controlling_terminal():
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    process = subprocess.Popen([str(latchkey.bin / "latchkey"), *args], stdin=slave, stdout=slave, stderr=slave,
                               env={**latchkey.env, "TERM": "xterm"}, start_new_session=True,
                               preexec_fn=controlling_terminal)
    os.close(slave)
    return process, master


def read_until(master, predicate, timeout=20):
    data = b""
    deadline = time.time() + timeout
    while time.time() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
            if predicate(data.decode(errors="replace")):
                break
    return data.decode(errors="replace")


def qr_block(screen):
    """The QR block's modules as rows of 0/1, read back from the half-block characters."""
    lines = [ANSI.sub("", line) for line in screen.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    start = next(i for i, line in enumerate(lines) if "Or scan this with a phone" in line) + 1
    block = []
    for line in lines[start:]:
        body = line[2:]
        if not body or not set(body) <= set(" ▀▄█"):
            break
        block.append(body)
    rows = []
    for line in block:
        rows.append("".join("1" if c in "▀█" else "0" for c in line))
        rows.append("".join("1" if c in "▄█" else "0" for c in line))
    return rows


def reference_matrices(text):
    for mask in range(8):
        code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2, mask_pattern=mask)
        code.add_data(qrcode.util.QRData(text.encode(), mode=qrcode.util.MODE_8BIT_BYTE), optimize=0)
        code.make(fit=True)
        yield ["".join("1" if c else "0" for c in row) for row in code.get_matrix()]


def test_device_sign_in_in_a_terminal_shows_code_qr_and_countdown_and_ctrl_c_cancels(latchkey, provider):
    latchkey.write_config('[broker]\nstore = "memory"\n\n' + latchkey.oauth_account("work", provider.url, provider.ca))
    latchkey.start()
    process, master = spawn_in_pty(latchkey, "login", "work")
    try:
        screen = read_until(master, lambda text: text.count("left (Ctrl-C cancels)") >= 2, timeout=20)
        plain = ANSI.sub("", screen)
        code = re.search(r"enter the code:\s+(\S+)", plain).group(1)
        complete = re.search(r"\(or open (\S+) — it fills in the code\)", plain).group(1)
        assert code in complete
        # The QR block is the link with the code, exactly as a reference encoder draws it.
        rows = qr_block(screen)
        side = len(rows[0])  # the block is square; an odd side leaves a light half row below
        assert len(rows) in (side, side + 1) and set(rows[side:]) <= {"0" * side}
        assert rows[:side] in list(reference_matrices(complete)), "the QR block is not the link's QR code"
        # A countdown that moves.
        left = re.findall(r"Waiting for you to finish signing in… (\d+):(\d\d) left", plain)
        assert len(left) >= 2 and 0 < int(left[0][0]) * 60 + int(left[0][1]) <= 300

        os.write(master, b"\x03")  # Ctrl-C, as the terminal sends it
        process.wait(timeout=10)
        assert process.returncode != 0
    finally:
        if process.poll() is None:
            process.kill()
        os.close(master)
    deadline = time.time() + 10
    while time.time() < deadline and "sign-in cancelled" not in latchkey.log_text():
        time.sleep(0.1)
    assert "sign-in cancelled" in latchkey.log_text()
    # The code the person never entered is dead at the daemon: a new login starts a new one.
    status, _, body = latchkey.api("GET", "/v1/accounts/work")
    assert status == 200 and b"signing_in" not in body


def test_without_a_terminal_the_prompt_is_plain_lines(latchkey, provider, person):
    latchkey.write_config('[broker]\nstore = "memory"\n\n' + latchkey.oauth_account("work", provider.url, provider.ca))
    latchkey.start()
    returncode, _, err, _ = latchkey.login("work", person)
    assert returncode == 0, err
    assert "Or scan this" not in err and "\x1b[" not in err and "▀" not in err
