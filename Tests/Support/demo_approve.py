"""Plays the person in `make demo` with DEMO_AUTO_APPROVE=1: waits for the user code that
`latchkey login` shows, then completes the provider's page with password and TOTP."""
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from support.provider import Person  # noqa: E402

transcript, url, ca = sys.argv[1:4]
deadline = time.time() + 60
code = None
while time.time() < deadline and code is None:
    try:
        match = re.search(r"enter the code:\s+(\S+)", Path(transcript).read_text())
        code = match.group(1) if match else None
    except FileNotFoundError:
        pass
    time.sleep(0.2)
if code is None:
    sys.exit("demo: no user code appeared")
print("demo: the person opens the page, enters the code, alice's password and a TOTP code…", file=sys.stderr)
person = Person(url, ca, username="alice")
if not person.approve_device(code):
    sys.exit("demo: the provider did not approve the sign-in")
