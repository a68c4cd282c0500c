"""The ActiveSync server of the test environment (scripts/testenv/activesync.sh) really checks
tokens and really asks for provisioning: a live token of the test provider is taken, a made-up
one refused; OPTIONS names the protocol versions; a FolderSync from an unprovisioned device is
answered "provision first" (HTTP 449 or status 142)."""

import pytest
import requests

from conftest import require_env
from test_testenv_mail import live_token

PATH = "/Microsoft-Server-ActiveSync"


@pytest.fixture
def server():
    (url,) = require_env("LATCHKEY_TEST_ACTIVESYNC_URL")
    return url


def options(server, token):
    return requests.options(server + PATH, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def test_live_token_taken_made_up_refused(server, provider, person):
    token = live_token(provider, person)
    taken = options(server, token)
    assert taken.status_code == 200, taken.text
    versions = taken.headers["MS-ASProtocolVersions"].split(",")
    assert "14.1" in versions and "16.0" in versions
    assert options(server, "made-up-token").status_code == 401
    assert requests.options(server + PATH, timeout=30).status_code == 401


def test_unprovisioned_foldersync_is_told_to_provision(server, provider, person):
    token = live_token(provider, person)
    # FolderSync with SyncKey 0 (MS-ASWBXML code page 7): a WBXML 1.3 header, then
    # FolderSync(0x56) SyncKey(0x52) "0" END END.
    body = bytes([0x03, 0x01, 0x6A, 0x00, 0x00, 0x07, 0x56, 0x52, 0x03]) + b"0" + bytes([0x00, 0x01, 0x01])
    answer = requests.post(
        server + PATH, params={"Cmd": "FolderSync", "User": "alice@contoso.example", "DeviceId": "TESTDEVICE1",
                               "DeviceType": "Latchkey"},
        headers={"Authorization": f"Bearer {token}", "MS-ASProtocolVersion": "14.1",
                 "Content-Type": "application/vnd.ms-sync.wbxml"}, data=body, timeout=30)
    # Horde answers 12.1+ devices with HTTP 449 and a Status 142 (DeviceNotProvisioned) in the body.
    assert answer.status_code == 449, answer.text
    assert bytes([0x03]) + b"142\x00" in answer.content, answer.content
