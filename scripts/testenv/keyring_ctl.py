#!/usr/bin/env python3
"""Drive the test gnome-keyring-daemon over D-Bus (jeepney), headlessly.

    keyring_ctl.py ready             exit 0 when org.freedesktop.secrets answers on the bus
    keyring_ctl.py status            print "locked" or "unlocked" (the login collection)
    keyring_ctl.py lock              lock the login collection (Secret Service Lock)
    keyring_ctl.py unlock            unlock it with the password read from stdin (no newline)
    keyring_ctl.py ensure-default    make the login collection the "default" alias

The bus is taken from --address, else LATCHKEY_TEST_DBUS_ADDRESS, else
DBUS_SESSION_BUS_ADDRESS. Unlocking without a prompt uses gnome-keyring's private
org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface.UnlockWithMasterPassword with a
"plain" session (the Secret Service's own Unlock would need a GUI prompt).
Exit status: 0 done, 1 failed (message on stderr), 64 usage.
"""
import argparse
import os
import sys

from jeepney import DBusAddress, MessageType, Properties, new_method_call
from jeepney.io.blocking import open_dbus_connection

BUS_NAME = "org.freedesktop.secrets"
SERVICE_PATH = "/org/freedesktop/secrets"
LOGIN = "/org/freedesktop/secrets/collection/login"
SERVICE = DBusAddress(SERVICE_PATH, bus_name=BUS_NAME, interface="org.freedesktop.Secret.Service")
INTERNAL = DBusAddress(SERVICE_PATH, bus_name=BUS_NAME,
                       interface="org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface")


class Failed(Exception):
    pass


def call(conn, msg, timeout=5):
    reply = conn.send_and_get_reply(msg, timeout=timeout)
    if reply.header.message_type == MessageType.error:
        name = reply.header.fields.get(4, "error")  # HeaderFields.error_name
        raise Failed(f"{name}: {reply.body[0] if reply.body else ''}")
    return reply.body


def locked(conn, path=LOGIN):
    props = Properties(DBusAddress(path, bus_name=BUS_NAME, interface="org.freedesktop.Secret.Collection"))
    (sig, value), = call(conn, props.get("Locked"))
    return bool(value)


def collections(conn):
    props = Properties(SERVICE)
    (sig, value), = call(conn, props.get("Collections"))
    return list(value)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["ready", "status", "lock", "unlock", "ensure-default"])
    ap.add_argument("--address")
    args = ap.parse_args()
    address = (args.address or os.environ.get("LATCHKEY_TEST_DBUS_ADDRESS")
               or os.environ.get("DBUS_SESSION_BUS_ADDRESS"))
    if not address:
        print("keyring_ctl: no bus address (--address or LATCHKEY_TEST_DBUS_ADDRESS)", file=sys.stderr)
        return 64
    try:
        conn = open_dbus_connection(address)
    except OSError as e:
        print(f"keyring_ctl: cannot connect to {address}: {e}", file=sys.stderr)
        return 1
    try:
        with conn:
            if args.command == "ready":
                # Asking for a property starts nothing (our bus has no .service files) and
                # fails until the daemon owns the name.
                if LOGIN not in collections(conn):
                    raise Failed("the login collection does not exist (yet)")
            elif args.command == "status":
                print("locked" if locked(conn) else "unlocked")
            elif args.command == "lock":
                unlocked, prompt = call(conn, new_method_call(SERVICE, "Lock", "ao", ([LOGIN],)))
                if prompt != "/":
                    raise Failed(f"Lock asked for a prompt ({prompt}); cannot lock headlessly")
                if not locked(conn):
                    raise Failed("Lock returned but the login collection is still unlocked")
            elif args.command == "unlock":
                password = sys.stdin.buffer.read()
                if not password:
                    raise Failed("no password on stdin")
                _output, session = call(conn, new_method_call(
                    SERVICE, "OpenSession", "sv", ("plain", ("s", ""))))
                secret = (session, b"", password, "text/plain")
                call(conn, new_method_call(INTERNAL, "UnlockWithMasterPassword",
                                           "o(oayays)", (LOGIN, secret)))
                call(conn, new_method_call(
                    DBusAddress(session, bus_name=BUS_NAME, interface="org.freedesktop.Secret.Session"),
                    "Close"))
                if locked(conn):
                    raise Failed("UnlockWithMasterPassword returned but the collection is still "
                                 "locked (wrong password? a trailing newline?)")
            elif args.command == "ensure-default":
                current, = call(conn, new_method_call(SERVICE, "ReadAlias", "s", ("default",)))
                if current != LOGIN:
                    call(conn, new_method_call(SERVICE, "SetAlias", "so", ("default", LOGIN)))
                    current, = call(conn, new_method_call(SERVICE, "ReadAlias", "s", ("default",)))
                    if current != LOGIN:
                        raise Failed(f"default alias is {current}, not {LOGIN}")
    except Failed as e:
        print(f"keyring_ctl: {args.command}: {e}", file=sys.stderr)
        return 1
    except TimeoutError:
        print(f"keyring_ctl: {args.command}: no answer from {BUS_NAME} in time", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
