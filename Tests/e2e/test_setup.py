"""Issue 6 end to end: from an e-mail address to a working account.

`latchkey setup` asks the test provider's Autodiscover endpoints (v2 JSON and POX, with
redirects), probes the Exchange-like service it finds, chooses OAuth from its `Bearer
authorization_uri` challenge, discovers the provider, and writes the account; the written
account then signs in with MFA and its header is accepted by the service. Against Apache the
choice follows the preference order, and `method = "auto"` discovers at sign-in.
"""

import os
import re
import subprocess
from urllib.parse import urlsplit

import pytest
import requests

from conftest import require_env
from support.provider import PUBLIC_CLIENT

BASIC_PASSWORD = "alice-Basic-pass-1"


def setup(latchkey, provider, email, *args):
    return latchkey.run("setup", email, "--autodiscover", provider.url, "--client-id", PUBLIC_CLIENT,
                        "--ca-file", provider.ca, *args)


def section(text, name):
    """The lines of [accounts.NAME], up to the next table."""
    match = re.search(rf"^\[accounts\.{name}\]\n(.*?)(?=^\[|\Z)", text, re.S | re.M)
    assert match, f"no [accounts.{name}] in:\n{text}"
    return dict(re.findall(r'^(\w+) = (.+?)(?:\s+#.*)?$', match.group(1), re.M))


@pytest.fixture
def apache(provider_env):
    http_port, https_port, krb5, ca = require_env(
        "LATCHKEY_TEST_APACHE_HTTP_PORT", "LATCHKEY_TEST_APACHE_HTTPS_PORT", "LATCHKEY_TEST_KRB5_CONFIG",
        "LATCHKEY_TEST_CA")
    return {"https": f"https://localhost:{https_port}", "http": f"http://127.0.0.1:{http_port}", "krb5": krb5,
            "ca": ca}


# ---------------------------------------------------------------------------------- Autodiscover


def test_setup_from_autodiscover_json_signs_in_and_the_service_accepts_the_token(latchkey, provider, person):
    existing = ('# My accounts. This comment and the account below must survive setup.\n'
                '[broker]\nstore = "memory"   # tests keep secrets in memory\n\n'
                + latchkey.oauth_account("other", provider.url, provider.ca))
    latchkey.write_config(existing)
    latchkey.start()
    done = setup(latchkey, provider, "alice@contoso.example", "--name", "work")
    assert done.returncode == 0, done.stderr
    # The explanation: Autodiscover's answer, the challenges, the reasons.
    assert "ActiveSync at " + provider.url + "/Microsoft-Server-ActiveSync" in done.stderr
    assert 'authorization_uri="' + provider.url + '/authorize"' in done.stderr
    assert "oauth: offered and usable: chosen" in done.stderr
    assert "ntlm" not in done.stderr
    assert "The running daemon has read it." in done.stderr

    text = latchkey.config.read_text()
    assert text.startswith(existing), "setup must keep the file's other content and comments"
    assert "#   Method oauth, the first usable one in the preference order:" in text
    work = section(text, "work")
    assert work["method"] == '"oauth"' and work["provider"] == '"oidc"'
    assert work["issuer"] == f'"{provider.url}"'
    assert work["url"] == f'"{provider.url}/Microsoft-Server-ActiveSync"'
    assert work["client_id"] == f'"{PUBLIC_CLIENT}"' and work["ca_file"] == f'"{provider.ca}"'
    assert provider.counters()["autodiscover_json"] == 1

    # The written account signs in (password + TOTP) and the service accepts its header.
    code, _, err, _ = latchkey.login("work", person)
    assert code == 0, err
    # Its url is an ActiveSync endpoint, whose `header` carries a policy key from provisioning
    # (README, ActiveSync tools); this test service is no ActiveSync server, so the token is
    # sent as a sync tool's PassCmd would.
    name, value = "Authorization", "Bearer " + latchkey.run("token", "work").stdout.strip()
    resp = requests.get(provider.url + "/Microsoft-Server-ActiveSync", headers={name: value}, verify=provider.ca,
                        timeout=10)
    assert resp.status_code == 200 and resp.json()["service"] == "ActiveSync"
    assert provider.counters()["service_ok"] == 1


@pytest.mark.parametrize("email, expected, trail", [
    ("alice@moved.example", "/Microsoft-Server-ActiveSync", "302 redirect to"),
    ("alice@pox.example", "/Microsoft-Server-ActiveSync", "(mobilesync) → ActiveSync at"),
    ("alice@poxmoved.example", "/Microsoft-Server-ActiveSync", "redirect to the address alice@pox.example"),
    ("alice@poxurl.example", "/EWS/Exchange.asmx", "redirect to " + "{url}/autodiscover/moved/autodiscover.xml"),
])
def test_setup_follows_autodiscover_redirects(latchkey, provider, email, expected, trail):
    done = setup(latchkey, provider, email, "--dry-run")
    assert done.returncode == 0, done.stderr
    assert trail.replace("{url}", provider.url) in done.stderr
    written = section(done.stdout, email.split("@")[1].split(".")[0])
    assert written["url"] == f'"{provider.url}{expected}"'
    assert written["method"] == '"oauth"'
    assert not latchkey.config.exists(), "--dry-run writes nothing"


@pytest.mark.parametrize("email, words", [
    ("alice@loop.example", "redirects in a loop"),
    ("alice@plain.example", "which is not https; Latchkey does not follow it"),
    ("alice@html.example", "got an HTML page instead of an Autodiscover answer"),
    ("alice@nowhere.example", "found no ActiveSync or EWS service"),
])
def test_autodiscover_failures_end_with_clear_errors(latchkey, provider, email, words):
    done = setup(latchkey, provider, email)
    assert done.returncode == 78, done.stderr
    assert words in done.stderr
    assert not latchkey.config.exists()


@pytest.mark.parametrize("email, words", [
    ("alice@comments.example", "a comment holds '--', which XML allows only in its closing '-->' (line 2, column "),
    ("alice@cdata.example", "text holds ']]>', which XML allows only to close a CDATA section (line 2, column "),
])
def test_a_hostile_autodiscover_answer_ends_setup_at_once_and_the_daemon_serves_on(latchkey, provider, email, words):
    """Issue 14 item 4: ~1 MiB of `<!--` or nested `<![CDATA[` (minutes of CPU for the old
    quadratic reader) is refused at once, the error names what is wrong and where, and the
    running daemon still serves its other account."""
    latchkey.write_config('[broker]\nstore = "memory"\n\n' + latchkey.oauth_account("other", provider.url, provider.ca))
    latchkey.start()
    done = latchkey.run("setup", email, "--autodiscover", provider.url, "--client-id", PUBLIC_CLIENT,
                        "--ca-file", provider.ca)
    assert done.returncode == 78, done.stderr
    assert "found no ActiveSync or EWS service" in done.stderr
    for schema in ("mobilesync", "outlook"):
        assert f"/autodiscover/autodiscover.xml ({schema}) → 200, an answer Latchkey cannot read: {words}" in done.stderr
    assert len(done.stderr) < 4096, "the hostile answer itself is not echoed"
    status = latchkey.run("status", "--json")
    assert status.returncode == 0 and '"other"' in status.stdout, status.stderr
    assert latchkey.process.poll() is None


def test_an_availability_url_is_not_offered_as_activesync(latchkey, provider):
    """Issue 14 item 8: an outlook answer whose only URL is `<ASUrl>…/EWS/Exchange.asmx</ASUrl>`
    (MS-OXDSCLI: the Availability service) is not ActiveSync, nor EWS; the mobilesync answer is
    where ActiveSync comes from (alice@pox.example in test_setup_follows_autodiscover_redirects)."""
    done = setup(latchkey, provider, "alice@asurl.example", "--dry-run")
    assert done.returncode == 78, done.stderr
    assert "ActiveSync at" not in done.stderr and "EWS at" not in done.stderr
    assert ("(outlook) → the outlook answer has no EwsUrl in an EXCH or EXPR Protocol "
            "(its ASUrl is the Availability service, not ActiveSync)") in done.stderr
    assert "found no ActiveSync or EWS service for alice@asurl.example" in done.stderr
    pox = setup(latchkey, provider, "alice@pox.example", "--dry-run")
    assert pox.returncode == 0 and "(mobilesync) → ActiveSync at " + provider.url + "/Microsoft-Server-ActiveSync" in pox.stderr


def test_setup_refuses_a_name_already_taken_and_a_broken_config(latchkey, provider):
    latchkey.write_config(latchkey.oauth_account("contoso", provider.url, provider.ca))
    taken = setup(latchkey, provider, "alice@contoso.example")
    assert taken.returncode == 78 and "already has an account named 'contoso'" in taken.stderr
    latchkey.write_config("[accounts.x\n")
    broken = setup(latchkey, provider, "alice@contoso.example")
    assert broken.returncode == 78 and "fix it before adding an account" in broken.stderr
    assert latchkey.config.read_text() == "[accounts.x\n"


def test_oauth_is_not_chosen_without_a_client_id(latchkey, provider):
    done = latchkey.run("setup", "alice@contoso.example", "--autodiscover", provider.url, "--ca-file", provider.ca,
                        "--dry-run")
    # The service also offers Basic over https: that is chosen, and the reason for not OAuth shown.
    assert done.returncode == 0, done.stderr
    assert "oauth: offered, but no client_id is known" in done.stderr
    assert section(done.stdout, "contoso")["method"] == '"basic"'


# ---------------------------------------------------------------------------------- Apache


def run_with_krb5(latchkey, apache, *args, input=None):
    latchkey.extra_env["KRB5_CONFIG"] = apache["krb5"]
    return latchkey.run(*args, input=input)


def test_choice_follows_the_preference_order_against_apache(latchkey, apache):
    both = apache["https"] + "/both/"
    default = run_with_krb5(latchkey, apache, "setup", "alice@latchkey.test", "--url", both, "--ca-file", apache["ca"],
                            "--dry-run")
    assert default.returncode == 0, default.stderr
    written = section(default.stdout, "latchkey")
    assert written["method"] == '"kerberos"' and written["principal"] == '"alice@LATCHKEY.TEST"'
    assert written["fallback"] == '["basic"]'
    assert "basic: offered and usable, after kerberos" in default.stderr

    basic_first = run_with_krb5(latchkey, apache, "setup", "alice@latchkey.test", "--url", both, "--ca-file",
                                apache["ca"], "--prefer", "basic,kerberos", "--dry-run")
    assert section(basic_first.stdout, "latchkey")["method"] == '"basic"'

    only_basic = run_with_krb5(latchkey, apache, "setup", "alice@latchkey.test", "--url", apache["https"] + "/basic/",
                               "--ca-file", apache["ca"], "--prefer", "kerberos,basic", "--dry-run")
    assert section(only_basic.stdout, "latchkey")["method"] == '"basic"'
    assert "kerberos: not offered by the service" in only_basic.stderr

    # Without a Kerberos configuration, Kerberos cannot work here, and the reason says so.
    latchkey.extra_env["KRB5_CONFIG"] = "/nonexistent/krb5.conf"
    no_krb = latchkey.run("setup", "alice@latchkey.test", "--url", both, "--ca-file", apache["ca"], "--dry-run")
    assert "kerberos: offered, but Kerberos is not configured on this machine" in no_krb.stderr
    assert section(no_krb.stdout, "latchkey")["method"] == '"basic"'


def test_a_basic_account_written_by_setup_works_over_tls(latchkey, apache):
    latchkey.write_config('[broker]\nstore = "memory"\n')
    latchkey.extra_env["KRB5_CONFIG"] = apache["krb5"]
    latchkey.start()
    url = apache["https"] + "/basic/"
    done = latchkey.run("setup", "alice@latchkey.test", "--url", url, "--ca-file", apache["ca"], "--username", "alice",
                        "--name", "legacy")
    assert done.returncode == 0, done.stderr
    login = latchkey.run("login", "legacy", input=BASIC_PASSWORD + "\n")
    assert login.returncode == 0, login.stderr
    header = latchkey.run("header", "legacy").stdout.strip()
    code = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", apache["ca"], "-H",
                           header, url], capture_output=True, text=True, timeout=30).stdout
    assert code == "200"
    assert BASIC_PASSWORD not in latchkey.log_text() and BASIC_PASSWORD not in latchkey.config.read_text()


# ---------------------------------------------------------------------------------- method = "auto"


def test_method_auto_discovers_oauth_at_sign_in(latchkey, provider, person):
    latchkey.write_config('[broker]\nstore = "memory"\n\n[accounts.auto]\nmethod = "auto"\n'
                          f'email = "alice@contoso.example"\nurl = "{provider.url}/Microsoft-Server-ActiveSync"\n'
                          f'client_id = "{PUBLIC_CLIENT}"\nca_file = "{provider.ca}"\n')
    latchkey.start()
    code, _, err, _ = latchkey.login("auto", person)
    assert code == 0, err
    token = latchkey.run("token", "auto")  # an ActiveSync url: see the test above
    assert token.returncode == 0 and token.stdout.strip(), token.stderr
    name, value = "Authorization", "Bearer " + token.stdout.strip()
    resp = requests.get(provider.url + "/Microsoft-Server-ActiveSync", headers={name: value}, verify=provider.ca,
                        timeout=10)
    assert resp.status_code == 200
    assert "method discovered" in latchkey.log_text() and "method=oauth" in latchkey.log_text()


def test_method_auto_discovers_basic_against_apache(latchkey, apache):
    url = apache["https"] + "/basic/"
    latchkey.write_config('[broker]\nstore = "memory"\n\n[accounts.auto]\nmethod = "auto"\n'
                          f'username = "alice"\nurl = "{url}"\nca_file = "{apache["ca"]}"\n')
    latchkey.extra_env["KRB5_CONFIG"] = apache["krb5"]
    latchkey.start()
    login = latchkey.run("login", "auto", input=BASIC_PASSWORD + "\n")
    assert login.returncode == 0, login.stderr
    header = latchkey.run("header", "auto").stdout.strip()
    assert header.startswith("Authorization: Basic ")
    code = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", apache["ca"], "-H",
                           header, url], capture_output=True, text=True, timeout=30).stdout
    assert code == "200"


def test_method_auto_without_a_service_is_a_clear_error(latchkey, provider):
    latchkey.write_config('[broker]\nstore = "memory"\n\n[accounts.auto]\nmethod = "auto"\n'
                          f'url = "{provider.url}/resource-missing"\nca_file = "{provider.ca}"\n')
    latchkey.start()
    done = latchkey.run("header", "auto")
    assert done.returncode == 78, done.stderr
    assert "Discovering how 'auto' signs in failed" in done.stderr


# ---------------------------------------------------------------------- Exchange Online (issue 17)

ENTRA_HOSTS = ("login.microsoftonline.com", "login.microsoftonline.us")
TENANT_ID = "4f3c2b1a-0d9e-4c8b-a7f6-5e4d3c2b1a09"  # the test provider's tenant (state.TENANT_ID)


def entra_setup(latchkey, provider, shape, *args, path="/Microsoft-Server-ActiveSync", connect=True):
    """`setup` of an Exchange-Online-shaped service. The authority's host is a Microsoft host
    reached through --connect-to: the provider serves it with the test CA's certificate for
    that name, which only this --ca-file makes trusted."""
    port = urlsplit(provider.url).port
    mapped = [arg for host in ENTRA_HOSTS for arg in ("--connect-to", f"{host}:443:127.0.0.1:{port}")]
    return latchkey.run("setup", "alice@contoso.example", "--url", f"{provider.url}/entra/{shape}{path}",
                        "--client-id", PUBLIC_CLIENT, "--ca-file", provider.ca, "--dry-run",
                        *(mapped if connect else []), *args)


@pytest.mark.parametrize("shape, path, args, tenant, scopes, why", [
    ("common", "/Microsoft-Server-ActiveSync", (), "contoso.example",
     ["https://outlook.office.com/EAS.AccessAsUser.All", "offline_access"], "the service URL is ActiveSync's path"),
    ("common", "/EWS/Exchange.asmx", (), "contoso.example",
     ["https://outlook.office.com/EWS.AccessAsUser.All", "offline_access"], "the service URL is an EWS path"),
    ("common", "/EWS/Exchange.asmx", ("--protocol", "imap"), "contoso.example",
     ["https://outlook.office.com/IMAP.AccessAsUser.All", "https://outlook.office.com/SMTP.Send", "offline_access"],
     "--protocol imap"),
    ("tenant", "/Microsoft-Server-ActiveSync", (), TENANT_ID,
     ["https://outlook.office.com/EAS.AccessAsUser.All", "offline_access"], "the service URL is ActiveSync's path"),
])
def test_setup_on_exchange_online_chooses_oauth_with_tenant_and_scopes(latchkey, provider, shape, path, args,
                                                                        tenant, scopes, why):
    """The Exchange Online challenge (Bearer with authorization_uri on login.microsoftonline.com,
    plus Basic): the authority's v2.0 metadata (issuer the `{tenantid}` template, or the
    tenant's id) makes OAuth usable; the tenant comes from the challenge, else the address's
    domain; the scopes are the protocol's; each step is said and kept in the config."""
    done = entra_setup(latchkey, provider, shape, *args, path=path)
    assert done.returncode == 0, done.stderr
    named = "common" if shape == "common" else TENANT_ID
    authority = f"https://login.microsoftonline.com/{named}"
    issuer = "https://login.microsoftonline.com/" + ("{tenantid}" if shape == "common" else TENANT_ID) + "/v2.0"
    expected = [
        f'authorization_uri="{authority}/oauth2/authorize"',
        f"Microsoft identity platform (login.microsoftonline.com): the authority {authority} is the challenge's "
        "authorization_uri without its /oauth2/ path",
        f"v2.0 metadata at {authority}/v2.0/.well-known/openid-configuration: issuer {issuer} matches the authority",
        "oauth: offered and usable: chosen",
        "basic: offered and usable, after oauth in the preference order",
        f"Scopes for {'IMAP and SMTP' if args else ('EWS' if 'EWS' in path else 'ActiveSync')} on Exchange Online "
        f"({why}): " + " ".join(scopes),
    ]
    expected.append("Tenant contoso.example: the domain of alice@contoso.example (the challenge names only 'common')"
                    if shape == "common" else f"Tenant {TENANT_ID}: named by the challenge's authorization_uri")
    for line in expected:
        assert line in done.stderr, f"missing: {line}\n{done.stderr}"
    written = section(done.stdout, "contoso")
    assert written["method"] == '"oauth"' and written["provider"] == '"microsoft"'
    assert written["tenant"] == f'"{tenant}"'
    assert written["scopes"] == "[" + ", ".join(f'"{s}"' for s in scopes) + "]"
    assert "token_endpoint" not in written  # the global cloud: the preset's endpoints
    assert f"#   Tenant {tenant}" in done.stdout and "#   Scopes for" in done.stdout  # the reasons are kept
    counters = provider.counters()
    assert counters["entra_metadata_v2"] == 1 and counters.get("entra_metadata_v1", 0) == 0


def test_setup_on_a_national_cloud_writes_its_endpoints(latchkey, provider):
    done = entra_setup(latchkey, provider, "us")
    assert done.returncode == 0, done.stderr
    assert "Microsoft identity platform (login.microsoftonline.us)" in done.stderr
    written = section(done.stdout, "contoso")
    assert written["provider"] == '"microsoft"' and written["tenant"] == '"contoso.example"'
    base = "https://login.microsoftonline.us/contoso.example/oauth2/v2.0"
    assert written["token_endpoint"] == f'"{base}/token"'
    assert written["device_authorization_endpoint"] == f'"{base}/devicecode"'
    assert written["authorization_endpoint"] == f'"{base}/authorize"'


def test_the_tenantid_template_is_trusted_only_from_a_microsoft_host(latchkey, provider):
    """The same Entra-shaped metadata under the provider's own address (not a Microsoft host):
    its `{tenantid}` issuer is not its authority's, so OAuth is not usable and says why."""
    done = entra_setup(latchkey, provider, "local", connect=False)
    authority = provider.url + "/common"
    assert f"{authority}/v2.0/.well-known/openid-configuration: its issuer {provider.url}/{{tenantid}}/v2.0 is not " \
        f"{authority}/v2.0" in done.stderr, done.stderr
    assert "oauth: offered, but OIDC discovery at " + authority + " failed" in done.stderr
    assert "provider = \"microsoft\"" not in done.stdout


def test_exchange_on_premises_offers_no_oauth_and_ntlm_is_named(latchkey, provider):
    """Exchange on premises (Negotiate, NTLM, Basic): no Bearer, so no OAuth; NTLM is named as
    not supported; the choice falls to Kerberos or Basic."""
    done = entra_setup(latchkey, provider, "onprem")
    assert done.returncode == 0, done.stderr
    assert "oauth: not offered by the service" in done.stderr
    assert "ntlm: offered, but Latchkey does not support NTLM" in done.stderr
    assert section(done.stdout, "contoso")["method"] in ('"kerberos"', '"basic"')


@pytest.mark.parametrize("entry", ["login.microsoftonline.com:443:127.0.0.1", "a:b:c:d", "h:443:x y:1",
                                   "h:443:127.0.0.1:1:extra", "h:443:[::1:1"])
def test_a_malformed_connect_to_is_refused(latchkey, provider, entry):
    done = latchkey.run("setup", "alice@contoso.example", "--url", provider.url + "/entra/common/EWS/Exchange.asmx",
                        "--dry-run", "--connect-to", entry)
    assert done.returncode == 64, done.stderr
    assert f"--connect-to: '{entry}' is not HOST:PORT:HOST2:PORT2." in done.stderr
