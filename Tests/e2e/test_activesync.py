"""Issue 20 end to end, against the real ActiveSync server of the test environment
(php-horde-activesync, scripts/testenv/activesync.sh): Latchkey provisions on behalf of the
account (policy download and acknowledgement), hands out the policy key with the header, and a
FolderSync with them is accepted; a policy change on the server is answered by provisioning
again; a remote wipe ordered on the server erases the account's secrets from the store and
memory, is acknowledged, leaves the account `wiped`, and a new sign-in restores service."""

import json
import subprocess

import pytest
import requests

from conftest import require_env
from test_challenge import unix_http_post
from test_credential_store import keyring  # noqa: F401 (fixture)

USER = "alice@contoso.example"
PATH = "/Microsoft-Server-ActiveSync"
# FolderSync with SyncKey 0 (MS-ASWBXML code page 7: FolderSync 0x16, SyncKey 0x12).
FOLDER_SYNC = bytes([0x03, 0x01, 0x6A, 0x00, 0x00, 0x07, 0x56, 0x52, 0x03]) + b"0" + bytes([0x00, 0x01, 0x01])
DEFAULT_POLICY = {"DevicePasswordEnabled": 1, "MinDevicePasswordLength": 6, "MaxDevicePasswordFailedAttempts": 8}


@pytest.fixture
def server():
    url, key = require_env("LATCHKEY_TEST_ACTIVESYNC_URL", "LATCHKEY_TEST_ACTIVESYNC_ADMIN_KEY")

    class Server:
        endpoint = url + PATH

        def admin(self, method, path, **kwargs):
            answer = requests.request(method, url + path, headers={"X-Admin-Key": key}, timeout=30, **kwargs)
            assert answer.status_code == 200, answer.text
            return answer.json()

        def device(self, device_id):
            return self.admin("GET", "/admin/device", params={"device": device_id, "user": USER})

    server = Server()
    # Every test starts from the test environment's policy (a test may change it).
    server.admin("POST", "/admin/policy", json=DEFAULT_POLICY)
    server.admin("POST", "/admin/version", params={"max": "16.0"})
    return server


def configure(latchkey, provider, server, tmp_path, *, accept, store="file", extra_env=None):
    record = tmp_path / "notified.txt"
    broker = f'[broker]\nstore = "{store}"\nnotify = "command"\n'
    broker += f'notify_command = ["sh", "-c", "printf \'%s|%s\\\\n\' \\"$0\\" \\"$1\\" >> {record}"]\n'
    if store == "file":
        key = tmp_path / "store.key"
        key.write_bytes(bytes(range(32)))
        key.chmod(0o600)
        broker += f'key_file = "{key}"\nstore_file = "{tmp_path / "store.bin"}"\n'
    extra = f'email = "{USER}"\nurl = "{server.endpoint}"\n'
    if accept:
        extra += "activesync_accept_policy = true\n"
    latchkey.write_config(broker + "\n" + latchkey.oauth_account("eas", provider.url, provider.ca, extra=extra))
    if extra_env:
        latchkey.extra_env = extra_env
    latchkey.start()
    return record


def header(latchkey):
    done = latchkey.run("header", "eas", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def folder_sync(server, answer):
    """The FolderSync Status the server gives for these headers (or the HTTP status)."""
    response = requests.post(
        server.endpoint, params={"Cmd": "FolderSync", "User": USER, "DeviceId": answer["device_id"],
                                 "DeviceType": answer["device_type"]},
        headers={"Authorization": answer["value"], "X-MS-PolicyKey": answer["policy_key"],
                 "MS-ASProtocolVersion": answer["protocol_version"], "Content-Type": "application/vnd.ms-sync.wbxml"},
        data=FOLDER_SYNC, timeout=30)
    if response.status_code != 200:
        return response.status_code
    xml = subprocess.run(["wbxml2xml", "-l", "ACTIVESYNC", "-o", "-", "/dev/stdin"], input=response.content,
                         capture_output=True, timeout=30).stdout.decode()
    return xml


def account_status(latchkey):
    status, _, body = latchkey.api("GET", "/v1/accounts/eas")
    assert status == 200
    return json.loads(body)


def test_provision_and_a_foldersync_with_the_policy_key(latchkey, provider, person, server, tmp_path):
    provider.configure(interval=1)
    configure(latchkey, provider, server, tmp_path, accept=True)
    assert latchkey.login("eas", person)[0] == 0
    two = latchkey.run("header", "eas", "--activesync")
    assert two.returncode == 0, two.stderr
    lines = two.stdout.splitlines()
    assert lines[0].startswith("Authorization: Bearer ") and lines[1].startswith("X-MS-PolicyKey: ")
    answer = header(latchkey)
    assert answer["protocol_version"] == "16.0"  # the server offers up to 16.0; 16.1 is preferred when offered
    device = server.device(answer["device_id"])
    assert device["acks"] == [1]  # downloaded, then acknowledged as accepted
    assert device["policykey"] == answer["policy_key"] == lines[1].split(": ")[1]
    assert "<Status>1</Status>" in folder_sync(server, answer)
    sync = account_status(latchkey)["activesync"]
    assert "DevicePasswordEnabled=1" in sync["not_enforced"]
    assert "MaxDevicePasswordFailedAttempts=8" in sync["not_enforced"]
    assert sync["policy"].startswith("accepted")
    assert "DevicePasswordEnabled=1" in latchkey.log_text()
    shown = latchkey.run("status").stdout
    assert "not enforced on this machine: DevicePasswordEnabled=1" in shown and answer["device_id"] in shown
    # The plain header (the thin client's fast path) still prints one line.
    assert latchkey.run("header", "eas").stdout.count("\n") == 1


def test_honest_acknowledgement_says_not_applied(latchkey, provider, person, server, tmp_path):
    provider.configure(interval=1)
    configure(latchkey, provider, server, tmp_path, accept=False)
    assert latchkey.login("eas", person)[0] == 0
    done = latchkey.run("header", "eas")
    # Horde does not let in a device that did not apply its policy: Latchkey says why.
    assert done.returncode != 0
    assert "activesync_accept_policy" in done.stderr
    sync = account_status(latchkey)["activesync"]
    assert server.device(sync["device_id"])["acks"] == [3]  # "did not apply the policy at all"
    assert sync["provisioned"] is False and sync["last_error"]


def test_policy_change_is_answered_by_provisioning_again(latchkey, provider, person, server, tmp_path):
    provider.configure(interval=1)
    configure(latchkey, provider, server, tmp_path, accept=True)
    assert latchkey.login("eas", person)[0] == 0
    first = header(latchkey)
    assert "<Status>1</Status>" in folder_sync(server, first)
    server.admin("POST", "/admin/policy", json={"DevicePasswordEnabled": 1, "MinDevicePasswordLength": 10})
    assert folder_sync(server, first) == 449  # Horde: 449 with Status 142 in the body
    done = latchkey.run("challenge", "eas", "--activesync-status", "449")
    assert done.returncode == 0, done.stderr
    second = header(latchkey)
    assert second["policy_key"] != first["policy_key"]
    assert second["device_id"] == first["device_id"]
    assert "<Status>1</Status>" in folder_sync(server, second)
    assert "MinDevicePasswordLength=10" in account_status(latchkey)["activesync"]["not_enforced"]


@pytest.mark.parametrize("store,wipe", [("file", "device"), ("secret-service", "device"), ("file", "account")])
def test_remote_wipe_erases_the_account(latchkey, provider, person, server, tmp_path, store, wipe, request):
    """`device`: Horde's RemoteWipe in 16.0; `account`: 16.1's AccountOnlyRemoteWipe (the
    test server's own addition, offered with 16.1)."""
    provider.configure(interval=1)
    if wipe == "account":
        server.admin("POST", "/admin/version", params={"max": "16.1"})
    extra_env = None
    if store == "secret-service":
        ring = request.getfixturevalue("keyring")
        extra_env = {"DBUS_SESSION_BUS_ADDRESS": ring.address}
        for kind in ("refresh_token", "access_token", "password", "activesync_device"):  # an earlier run's
            subprocess.run(["secret-tool", "clear", "xdg:schema", "org.latchkey.Credential", "account", "eas",
                            "kind", kind], env={"DBUS_SESSION_BUS_ADDRESS": ring.address, "PATH": "/usr/bin:/bin"},
                           timeout=30)
    record = configure(latchkey, provider, server, tmp_path, accept=True, store=store, extra_env=extra_env)
    assert latchkey.login("eas", person)[0] == 0
    before = header(latchkey)
    assert before["protocol_version"] == ("16.1" if wipe == "account" else "16.0")
    if store == "secret-service":
        described, _ = ring.search()
        assert "attribute.account = eas" in described
    server.admin("POST", "/admin/wipe", params={"device": before["device_id"], "mode": wipe})
    assert ">140</Status>" in folder_sync(server, before)  # Status 140: remote wipe requested, provision
    done = latchkey.run("challenge", "eas", "--activesync-status", "140")
    assert done.returncode != 0 and "wiped" in done.stderr
    device = server.device(before["device_id"])
    # The acknowledgement reached the server (recorded from the request by the front: Horde 2.41
    # itself marks the device wiped when it sends the directive, and its handler for the
    # acknowledgement reads an undefined $_devId, a PHP warning in php.log).
    assert device["wipe_acks"] == [1] and device["rwstatus"] == 3
    assert account_status(latchkey)["state"] == "wiped"
    refused = latchkey.run("header", "eas")
    assert refused.returncode == 77 and "wiped" in refused.stderr
    assert latchkey.run("token", "eas").returncode != 0  # nothing left in memory
    assert "was wiped" in record.read_text()
    assert f"wipe={'account-only' if wipe == 'account' else 'device'}" in latchkey.log_text()
    if store == "secret-service":
        described, _ = ring.search()
        assert "attribute.account = eas" not in described
    # The store keeps nothing: a restarted daemon finds no credential of the account.
    latchkey.restart()
    assert account_status(latchkey)["state"] == "signed_out"
    issued = provider.issued()
    for secret in issued["access_tokens"] + issued["refresh_tokens"]:
        assert secret not in latchkey.log_text()
    # A new sign-in restores service, as a new device.
    assert latchkey.login("eas", person)[0] == 0
    after = header(latchkey)
    assert after["device_id"] != before["device_id"]
    assert "<Status>1</Status>" in folder_sync(server, after)
    assert latchkey.run("logout", "eas").returncode == 0  # leaves the shared keyring as it was


def test_concurrent_headers_provision_once(latchkey, provider, person, server, tmp_path):
    from concurrent.futures import ThreadPoolExecutor
    provider.configure(interval=1)
    configure(latchkey, provider, server, tmp_path, accept=True)
    assert latchkey.login("eas", person)[0] == 0
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: header(latchkey), range(8)))
    assert len({a["policy_key"] for a in answers}) == 1
    assert server.device(answers[0]["device_id"])["acks"] == [1]  # one provisioning for all eight


def test_no_token_over_plain_http_to_another_host(latchkey, provider, person, server, tmp_path):
    provider.configure(interval=1)
    server.endpoint = "http://mail.example.invalid" + PATH
    configure(latchkey, provider, server, tmp_path, accept=True)
    assert latchkey.login("eas", person)[0] == 0
    done = latchkey.run("header", "eas")
    assert done.returncode == 78, done.stderr
    assert "https" in done.stderr and "did not answer" not in done.stderr


def test_bad_activesync_status_is_refused(latchkey, provider, person, server, tmp_path):
    provider.configure(interval=1)
    configure(latchkey, provider, server, tmp_path, accept=True)
    done = latchkey.run("challenge", "eas", "--activesync-status", "200")
    assert done.returncode == 64 and "449, 140, 142, 143, 144" in done.stderr
    for body in (b'{"activesync_status": "abc"}', b'{"activesync_status": 449.5}', b'{"activesync_status": 1e99}',
                 b'{"activesync_status": -1}', b'{"activesync_status": null}'):
        assert unix_http_post(latchkey.socket, "/v1/accounts/eas/challenge", body)[0] == 400
