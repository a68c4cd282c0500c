"""Driving the real mail clients the way a person would, for Tests/e2e/test_mail_clients.py:
neomutt's and aerc's screens in tmux, aerc's composer, each sender with either SASL mechanism
through either submission server, and the table of docs/mail-clients.md that says what
happens.
"""

import re
from pathlib import Path

from .mailenv import USER, Tmux, unique
from .recipes import localize, recipe

MATRIX_DOC = Path(__file__).resolve().parents[3] / "docs" / "mail-clients.md"


def read_maildir(folder):
    """Every message of a Maildir folder (cur and new), as one text."""
    texts = []
    for sub in ("cur", "new"):
        path = folder / sub
        if path.is_dir():
            texts += [p.read_text(errors="replace") for p in sorted(path.iterdir()) if p.is_file()]
    return "\n".join(texts)


def neomutt_index(mail, subject):
    """neomutt's index of the INBOX (opened over IMAPS by the recipe), as the screen shows it."""
    terminal = Tmux(mail, "neomutt")
    # Only the message looked for, wherever neomutt's cursor would start in a long INBOX.
    limit = subject.split()[-1]
    try:
        terminal.start(f"neomutt -e 'push \"<limit>~s {limit}<enter>\"'")
        return terminal.wait_for(subject, "failed", "rror", "(r)eject")
    finally:
        terminal.stop()


def write_aerc(mail, text):
    """accounts.conf where aerc reads it: ~/.config unless XDG_CONFIG_HOME says otherwise
    (as it does for the daemon here)."""
    config = Path(mail.env["XDG_CONFIG_HOME"]).relative_to(mail.home)
    mail.write(str(config / "aerc" / "accounts.conf"), text)


def aerc_send(mail, subject):
    """aerc started on a mailto: link composes the mail (the editor, `true`, leaves the body
    as the link gives it), then `y` on its review screen sends it. ("sent" or "refused",
    the screen)."""
    terminal = Tmux(mail, "aerc-send")
    link = f"mailto:{USER}?subject={subject.replace(' ', '%20')}&body=sent%20by%20aerc"
    try:
        terminal.start(f"EDITOR=true aerc '{link}'")
        screen = terminal.wait_for("Send this email?")
        assert "Send this email?" in screen, screen
        terminal.keys("y")
        screen = terminal.wait_for("Message sent", "send::", "rror", "failed")
    finally:
        terminal.stop()
    return ("sent" if "Message sent" in screen else "refused"), screen


MECHANISM_SPELLING = {  # how each recipe names the SMTP mechanism: (as printed, other)
    "msmtp": ("auth xoauth2", "auth oauthbearer"),
    "neomutt": ('set smtp_authenticators = "xoauth2"', 'set smtp_authenticators = "oauthbearer"'),
    "aerc": ("smtp+xoauth2://", "smtp+oauthbearer://"),
}


def send_with(mail, client, mechanism, server):
    """Sends one mail with `client`'s recipe, its SMTP mechanism set to `mechanism`, through
    `server`'s submission port: ("sent" | "refused", what the client said)."""
    printed, other = MECHANISM_SPELLING[client]
    text = localize(recipe(client), host=mail.host, imap_port=mail.imaps,
                    submission_port=mail.submission[server], ca=mail.ca)
    if mechanism == "oauthbearer":
        assert printed in text
        text = text.replace(printed, other)
    subject = unique(f"{client} {mechanism} via {server}")
    if client == "msmtp":
        mail.write(".msmtprc", text)
        done = mail.run(["msmtp", USER], input=f"To: {USER}\nSubject: {subject}\n\nmatrix\n")
        outcome, said = ("sent" if done.returncode == 0 else "refused"), done.stderr
    elif client == "neomutt":
        mail.write(".neomuttrc", text)
        done = mail.run(["neomutt", "-s", subject, USER], input="matrix\n")
        outcome, said = ("sent" if done.returncode == 0 else "refused"), done.stdout + done.stderr
    else:
        write_aerc(mail, text)
        outcome, said = aerc_send(mail, subject)
    if outcome == "sent":
        assert mail.wait_for_subject(subject), f"{subject!r} was sent but never reached the INBOX"
    return outcome, said


def documented_matrix():
    """The rows of docs/mail-clients.md's table: (client, mechanism, server, expected), where
    expected is "sent" or the text the client must show when refused."""
    rows = []
    for line in MATRIX_DOC.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or cells[1] not in ("XOAUTH2", "OAUTHBEARER"):
            continue
        client = cells[0].split()[0]
        for server, cell in zip(("dovecot", "postfix"), cells[2:]):
            expected = "sent" if cell == "sent" else re.fullmatch(r"refused: `(.+)`", cell).group(1)
            rows.append((client, cells[1].lower(), server, expected))
    return rows
