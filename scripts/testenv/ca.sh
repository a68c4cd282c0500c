#!/usr/bin/env bash
# Make a throwaway CA and a server certificate for 127.0.0.1, ::1 and localhost.
# Output in $LATCHKEY_TESTENV/ca: ca.pem, ca.key, server.pem, server.key (and wronghost.pem/key,
# other-ca.pem for diagnosis tests, microsoft.pem/key for Entra-shaped endpoints).
source "$(dirname "$0")/common.sh"
[ -n "$LATCHKEY_TESTENV" ] || die "LATCHKEY_TESTENV is not set"
d="$LATCHKEY_TESTENV/ca"; mkdir -p "$d"; cd "$d"
[ -f server.pem ] && [ -f microsoft.pem ] && exit 0
# Each file is made once: a CA made again would no longer vouch for the servers' certificates.
[ -f ca.pem ] || openssl req -x509 -newkey rsa:2048 -nodes -days 3 -subj "/CN=Latchkey Test CA" \
    -keyout ca.key -out ca.pem 2>/dev/null
issue() { # name days san
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$1" -keyout "$1.key" -out "$1.csr" 2>/dev/null
    printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$3" > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days "$2" \
        -extfile "$1.ext" -out "$1.pem" 2>/dev/null
    rm -f "$1.csr" "$1.ext"
}
[ -f server.pem ] || issue server 3 "IP:127.0.0.1,IP:::1,DNS:localhost"
[ -f wronghost.pem ] || issue wronghost 3 "DNS:wrong.invalid"
# The Microsoft identity platform's hosts, for the provider's Entra-shaped endpoints: trusted only
# where a test passes this CA (--ca-file), reached only through --connect-to (issue 17).
[ -f microsoft.pem ] || issue microsoft 3 "DNS:login.microsoftonline.com,DNS:login.microsoftonline.us,DNS:login.partner.microsoftonline.cn"
[ -f other-ca.pem ] || openssl req -x509 -newkey rsa:2048 -nodes -days 3 -subj "/CN=Other CA" \
    -keyout other-ca.key -out other-ca.pem 2>/dev/null
chmod 644 ./*.pem; chmod 640 ./*.key
log "CA ready in $d"
