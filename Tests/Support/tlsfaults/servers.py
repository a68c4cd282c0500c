#!/usr/bin/env python3
"""HTTPS servers with one TLS or clock fault each, for `latchkey diagnose` tests.

    servers.py --dir DIR --ca-cert ca.pem --ca-key ca.key [--host 127.0.0.1]

At start it makes fresh certificates in DIR (with the `cryptography` package) and serves, each
on its own free port of --host, in threads of this one process:

  expired    leaf for localhost/127.0.0.1 from the test CA, valid from 30 days ago to 1 day ago
  untrusted  leaf for localhost/127.0.0.1 from a throwaway CA (DIR/untrusted-ca.pem), not the test CA
  wronghost  leaf from the test CA, valid now, for DNS:other.example only
  skewed     valid leaf from the test CA; its answers' Date header is 2 hours ahead
  good       valid leaf from the test CA, correct Date (the control)

and picks `closed`: a port that was free when checked (bound, then closed) and where nothing
listens. Every server answers any GET/POST/OPTIONS/HEAD with 401, a Bearer WWW-Authenticate
challenge, a Date header and a small JSON body. Only the leaf is sent (no chain).

When every server listens it writes DIR/ports.json ({"expired": port, ..., "closed": port}),
atomically. It logs one line per request and per failed handshake. SIGTERM/SIGINT end it.
"""

import argparse
import datetime
import email.utils
import ipaddress
import json
import os
import signal
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SKEW_SECONDS = 2 * 3600
CHALLENGE = 'Bearer realm="tlsfaults", authorization_uri="https://127.0.0.1:1/authorize"'
LOCAL_NAMES = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]


def log(text):
    print(f"tlsfaults: {text}", file=sys.stderr, flush=True)


# --- certificates -------------------------------------------------------------------------

def new_key():
    return ec.generate_private_key(ec.SECP256R1())


def write_private(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def write_key(path, key):
    write_private(path, key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))


def write_cert(path, cert):
    with open(path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    os.chmod(path, 0o644)


def make_ca(name, now):
    key = new_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=10))
            .not_valid_after(now + datetime.timedelta(days=3))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True, crl_sign=True,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return cert, key


def make_leaf(common_name, names, ca_cert, ca_key, not_before, not_after):
    """A server certificate: only `names` in its SAN, serverAuth, signed by the CA."""
    key = new_key()
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=False, crl_sign=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    return cert, key


def make_certificates(directory, ca_cert_path, ca_key_path):
    """Write DIR/<name>.pem and .key for every server (and untrusted-ca.pem); return
    {name: (cert path, key path)}."""
    with open(ca_cert_path, "rb") as f:
        ca_cert = x509.load_pem_x509_certificate(f.read())
    with open(ca_key_path, "rb") as f:
        ca_key = serialization.load_pem_private_key(f.read(), password=None)

    now = datetime.datetime.now(datetime.timezone.utc)
    valid_from = now - datetime.timedelta(minutes=10)
    # Valid now; never beyond the test CA, so "good" has nothing wrong but what a CA may have.
    valid_to = min(now + datetime.timedelta(days=2), ca_cert.not_valid_after_utc)

    untrusted_ca, untrusted_ca_key = make_ca("Latchkey tlsfaults Untrusted CA", now)
    write_cert(os.path.join(directory, "untrusted-ca.pem"), untrusted_ca)

    leaves = {
        "expired": make_leaf("localhost", LOCAL_NAMES, ca_cert, ca_key,
                             now - datetime.timedelta(days=30), now - datetime.timedelta(days=1)),
        "untrusted": make_leaf("localhost", LOCAL_NAMES, untrusted_ca, untrusted_ca_key,
                               valid_from, now + datetime.timedelta(days=2)),
        "wronghost": make_leaf("other.example", [x509.DNSName("other.example")], ca_cert, ca_key,
                               valid_from, valid_to),
        "skewed": make_leaf("localhost", LOCAL_NAMES, ca_cert, ca_key, valid_from, valid_to),
        "good": make_leaf("localhost", LOCAL_NAMES, ca_cert, ca_key, valid_from, valid_to),
    }
    paths = {}
    for name, (cert, key) in leaves.items():
        cert_path = os.path.join(directory, f"{name}.pem")
        key_path = os.path.join(directory, f"{name}.key")
        write_cert(cert_path, cert)
        write_key(key_path, key)
        paths[name] = (cert_path, key_path)
    return paths


# --- servers ------------------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    """401 with a Bearer challenge for every request. The TLS handshake happens here, in the
    connection's own thread, so a client that stalls or rejects the certificate blocks no one."""

    server_version = "tlsfaults/1"
    protocol_version = "HTTP/1.1"

    def setup(self):
        self.request.settimeout(10)
        self.request = self.server.tls.wrap_socket(self.request, server_side=True)
        super().setup()

    def date_time_string(self, timestamp=None):
        if timestamp is None:
            timestamp = time.time()
        # RFC 7231 IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
        return email.utils.formatdate(timestamp + self.server.skew, usegmt=True)

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(min(length, 1 << 20))
        body = json.dumps({"error": "unauthorized", "server": self.server.name}).encode() + b"\n"
        self.send_response(401)   # adds Server and Date (date_time_string)
        self.send_header("WWW-Authenticate", CHALLENGE)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_OPTIONS = do_HEAD = do_PUT = do_DELETE = answer

    def log_message(self, fmt, *args):
        log(f"{self.server.name}: {self.address_string()} {fmt % args}")


class FaultServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, name, host, cert, key, skew):
        super().__init__((host, 0), Handler)
        self.name = name
        self.skew = skew
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls.load_cert_chain(cert, key)

    def handle_error(self, request, client_address):
        # Expected: clients that refuse our certificate abort the handshake. One line, no trace.
        err = sys.exc_info()[1]
        log(f"{self.name}: {client_address[0]}:{client_address[1]} {type(err).__name__}: {err}")


def closed_port(host):
    """A port that was free just now; nothing of ours listens there."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, help="where to write certificates and ports.json")
    parser.add_argument("--ca-cert", required=True, help="the test CA's certificate (PEM)")
    parser.add_argument("--ca-key", required=True, help="the test CA's private key (PEM)")
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)

    os.makedirs(args.dir, exist_ok=True)
    ports_file = os.path.join(args.dir, "ports.json")
    if os.path.exists(ports_file):
        os.unlink(ports_file)
    paths = make_certificates(args.dir, args.ca_cert, args.ca_key)

    servers = [FaultServer(name, args.host, cert, key, SKEW_SECONDS if name == "skewed" else 0)
               for name, (cert, key) in paths.items()]
    ports = {server.name: server.server_address[1] for server in servers}
    # Chosen while ours are bound, so it is none of them.
    ports["closed"] = closed_port(args.host)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    for server in servers:
        threading.Thread(target=server.serve_forever, name=server.name, daemon=True).start()

    tmp = ports_file + ".tmp"
    with open(tmp, "w") as f:
        json.dump(ports, f)
    os.replace(tmp, ports_file)
    log("listening: " + ", ".join(f"{name}={port}" for name, port in ports.items()))

    while not stop.wait(1):
        pass
    for server in servers:
        server.shutdown()
        server.server_close()
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
