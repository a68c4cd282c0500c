"""The TLS/clock fault servers of the test environment each have exactly their one fault, seen
for real by curl (OpenSSL) and Python's ssl: expired, untrusted issuer, wrong host name,
Date 2 hours ahead, and a good control; plus a closed port.

Needs scripts/testenv/{ca,tlsfaults}.sh start and $LATCHKEY_TESTENV/env.sh sourced. Without the
exported variables these tests skip, or fail when LATCHKEY_INTEGRATION=1.
"""
import datetime
import email.utils
import ipaddress
import os
import re
import shutil
import socket
import ssl
import subprocess
import time
from urllib.parse import urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from conftest import require_env

NAMES = {
    "expired": "LATCHKEY_TEST_TLS_EXPIRED_URL",
    "untrusted": "LATCHKEY_TEST_TLS_UNTRUSTED_URL",
    "wronghost": "LATCHKEY_TEST_TLS_WRONGHOST_URL",
    "skewed": "LATCHKEY_TEST_TLS_SKEWED_URL",
    "good": "LATCHKEY_TEST_TLS_GOOD_URL",
}
OTHERS = ["LATCHKEY_TEST_TLS_UNTRUSTED_CA", "LATCHKEY_TEST_CLOSED_PORT", "LATCHKEY_TEST_CA"]
CHALLENGE = 'Bearer realm="tlsfaults", authorization_uri="https://127.0.0.1:1/authorize"'
IMF_FIXDATE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} "
                         r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
                         r"\d{2}:\d{2}:\d{2} GMT$")
SKEW = 2 * 3600
# OpenSSL verification results (X509_V_ERR_*), as ssl.SSLCertVerificationError.verify_code.
CERT_HAS_EXPIRED = 10
UNABLE_TO_GET_ISSUER_CERT_LOCALLY = 20
HOSTNAME_MISMATCH, IP_ADDRESS_MISMATCH = 62, 64
LOCAL_NAMES = {x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))}


@pytest.fixture(scope="module")
def env():
    values = dict(zip([*NAMES.values(), *OTHERS], require_env(*NAMES.values(), *OTHERS)))
    missing = [tool for tool in ("curl", "openssl") if not shutil.which(tool)]
    if missing:
        msg = f"missing tools: {', '.join(missing)}"
        if os.environ.get("LATCHKEY_INTEGRATION") == "1":
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    return values


@pytest.fixture(scope="module")
def url(env):
    return {name: env[var] for name, var in NAMES.items()}


@pytest.fixture(scope="module")
def ca(env):
    return env["LATCHKEY_TEST_CA"]


def port(url):
    return urlsplit(url).port


def with_host(url, host):
    return f"https://{host}:{port(url)}/"


def clean_env():
    e = dict(os.environ)
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy",
                "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR"):
        e.pop(var, None)
    e["LC_ALL"] = "C"
    return e


class Answer:
    def __init__(self, p):
        self.rc, self.stderr = p.returncode, p.stderr
        self.status, self.headers, self.body = None, {}, ""
        if p.returncode == 0:
            # text=True has turned the head's CRLFs into "\n".
            head, _, self.body = p.stdout.partition("\n\n")
            lines = head.split("\n")
            self.status = int(lines[0].split()[1])
            for line in lines[1:]:
                name, _, value = line.partition(":")
                self.headers[name.strip().lower()] = value.strip()

    def __repr__(self):
        return f"<curl rc={self.rc} status={self.status} stderr={self.stderr.strip()!r}>"


def curl(url, *args):
    """curl with only the given trust (no system proxies or bundles): the answer, or its error."""
    p = subprocess.run(["curl", "-sS", "-i", "--noproxy", "*", "--max-time", "10", *args, url],
                       env=clean_env(), capture_output=True, text=True, timeout=30)
    return Answer(p)


def handshake(url, cafile, server_hostname):
    """Python ssl's verdict on the server (default context: chain, time and host name)."""
    context = ssl.create_default_context(cafile=cafile)
    with socket.create_connection(("127.0.0.1", port(url)), timeout=10) as sock:
        with context.wrap_socket(sock, server_hostname=server_hostname) as tls:
            return tls.version()


def verify_error(url, cafile, server_hostname):
    with pytest.raises(ssl.SSLCertVerificationError) as info:
        handshake(url, cafile, server_hostname)
    return info.value


def served_cert(url):
    """The certificate the server sends, fetched without verifying it."""
    pem = ssl.get_server_certificate(("127.0.0.1", port(url)), timeout=10)
    return x509.load_pem_x509_certificate(pem.encode())


def load_cert(path):
    with open(path, "rb") as f:
        return x509.load_pem_x509_certificate(f.read())


def sans(cert):
    return set(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)


def openssl_verify(cert, cafile, *args):
    """`openssl verify` of a served certificate against a CA, with extra checks as args."""
    p = subprocess.run(["openssl", "verify", "-CAfile", cafile, "-purpose", "sslserver", *args],
                       input=cert.public_bytes(Encoding.PEM),
                       capture_output=True, timeout=30)
    return p.returncode, (p.stdout + p.stderr).decode()


def date_of(answer):
    value = answer.headers["date"]
    assert IMF_FIXDATE.match(value), value
    return email.utils.parsedate_to_datetime(value).timestamp()


def assert_valid_now(cert):
    now = datetime.datetime.now(datetime.timezone.utc)
    assert cert.not_valid_before_utc < now < cert.not_valid_after_utc, cert


# --- every HTTPS server ---------------------------------------------------------------------

@pytest.mark.parametrize("name", list(NAMES))
@pytest.mark.parametrize("method", ["GET", "POST", "OPTIONS"])
def test_every_server_answers_401_with_a_bearer_challenge(url, name, method):
    args = ["-k", "-X", method] + (["-d", '{"x": 1}', "-H", "Content-Type: application/json"]
                                   if method == "POST" else [])
    a = curl(url[name] + "any/path?q=1", *args)
    assert a.rc == 0, a
    assert a.status == 401, a
    assert a.headers["www-authenticate"] == CHALLENGE
    assert a.headers["content-type"] == "application/json"
    assert "unauthorized" in a.body and name in a.body
    date_of(a)   # present and IMF-fixdate


def test_urls_are_https_on_loopback_with_distinct_ports(url, env):
    ports = set()
    for value in url.values():
        parts = urlsplit(value)
        assert (parts.scheme, parts.hostname, parts.path) == ("https", "127.0.0.1", "/"), value
        ports.add(parts.port)
    ports.add(int(env["LATCHKEY_TEST_CLOSED_PORT"]))
    assert len(ports) == len(url) + 1


# --- expired --------------------------------------------------------------------------------

def test_expired_fails_verification_for_expiry(url, ca):
    a = curl(url["expired"], "--cacert", ca)
    assert a.rc == 60, a
    assert "certificate has expired" in a.stderr, a
    for host in ("127.0.0.1", "localhost"):
        err = verify_error(url["expired"], ca, host)
        assert err.verify_code == CERT_HAS_EXPIRED, err
        assert "expired" in err.verify_message


def test_expired_has_no_other_fault(url, ca):
    cert = served_cert(url["expired"])
    now = datetime.datetime.now(datetime.timezone.utc)
    assert cert.not_valid_after_utc < now
    assert now - cert.not_valid_before_utc > datetime.timedelta(days=2)
    assert sans(cert) == LOCAL_NAMES
    cert.verify_directly_issued_by(load_cert(ca))
    # Without the time check, OpenSSL accepts it for 127.0.0.1 and localhost.
    rc, out = openssl_verify(cert, ca, "-no_check_time", "-verify_ip", "127.0.0.1")
    assert rc == 0, out
    rc, out = openssl_verify(cert, ca, "-no_check_time", "-verify_hostname", "localhost")
    assert rc == 0, out
    rc, out = openssl_verify(cert, ca)
    assert rc != 0 and "certificate has expired" in out, out


# --- untrusted ------------------------------------------------------------------------------

def test_untrusted_is_an_unknown_issuer_for_the_test_ca(url, ca):
    a = curl(url["untrusted"], "--cacert", ca)
    assert a.rc == 60, a
    assert "unable to get local issuer certificate" in a.stderr, a
    err = verify_error(url["untrusted"], ca, "127.0.0.1")
    assert err.verify_code == UNABLE_TO_GET_ISSUER_CERT_LOCALLY, err


def test_untrusted_verifies_against_its_own_ca(url, env, ca):
    other = env["LATCHKEY_TEST_TLS_UNTRUSTED_CA"]
    for host in ("127.0.0.1", "localhost"):
        a = curl(with_host(url["untrusted"], host), "--cacert", other)
        assert a.rc == 0 and a.status == 401, a
        assert handshake(url["untrusted"], other, host)
    cert, other_ca, test_ca = served_cert(url["untrusted"]), load_cert(other), load_cert(ca)
    assert other_ca.subject != test_ca.subject and other_ca.public_key() != test_ca.public_key()
    assert cert.issuer == other_ca.subject
    cert.verify_directly_issued_by(other_ca)
    assert_valid_now(cert)
    assert sans(cert) == LOCAL_NAMES


# --- wronghost ------------------------------------------------------------------------------

def test_wronghost_mismatches_127_0_0_1_and_localhost(url, ca):
    for host in ("127.0.0.1", "localhost"):
        a = curl(with_host(url["wronghost"], host), "--cacert", ca)
        assert a.rc == 60, a
        assert f"no alternative certificate subject name matches target host name '{host}'" \
            in a.stderr, a
    err = verify_error(url["wronghost"], ca, "127.0.0.1")
    assert err.verify_code == IP_ADDRESS_MISMATCH and "mismatch" in err.verify_message, err
    err = verify_error(url["wronghost"], ca, "localhost")
    assert err.verify_code == HOSTNAME_MISMATCH and "mismatch" in err.verify_message, err


def test_wronghost_verifies_as_other_example(url, ca):
    p = port(url["wronghost"])
    a = curl(f"https://other.example:{p}/", "--cacert", ca,
             "--resolve", f"other.example:{p}:127.0.0.1")
    assert a.rc == 0 and a.status == 401, a
    assert handshake(url["wronghost"], ca, "other.example")
    cert = served_cert(url["wronghost"])
    assert sans(cert) == {x509.DNSName("other.example")}
    cert.verify_directly_issued_by(load_cert(ca))
    assert_valid_now(cert)


# --- skewed and good: valid TLS, the Date tells them apart ----------------------------------

@pytest.mark.parametrize("name", ["skewed", "good"])
def test_valid_tls_for_127_0_0_1_and_localhost(url, ca, name):
    for host in ("127.0.0.1", "localhost"):
        a = curl(with_host(url[name], host), "--cacert", ca)
        assert a.rc == 0 and a.status == 401, a
        assert handshake(url[name], ca, host)
    cert = served_cert(url[name])
    assert sans(cert) == LOCAL_NAMES
    cert.verify_directly_issued_by(load_cert(ca))
    assert_valid_now(cert)


@pytest.mark.parametrize("name, skew", [("skewed", SKEW), ("good", 0)])
def test_date_header(url, ca, name, skew):
    for method in ("GET", "POST", "OPTIONS"):
        before = time.time()
        a = curl(url[name], "--cacert", ca, "-X", method)
        after = time.time()
        assert a.rc == 0 and a.status == 401, a
        # The header has whole seconds: allow them, and a little for the request itself.
        offset = date_of(a) - skew
        assert int(before) - 2 <= offset <= after + 2, (a.headers["date"], before, after)


# --- closed ---------------------------------------------------------------------------------

def test_closed_port_refuses_connections(env):
    closed = int(env["LATCHKEY_TEST_CLOSED_PORT"])
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", closed), timeout=5).close()
    for scheme in ("https", "http"):
        a = curl(f"{scheme}://127.0.0.1:{closed}/", "-k")
        assert a.rc == 7, a
