#!/usr/bin/env bash
# A throwaway MIT Kerberos realm LATCHKEY.TEST, entirely under $LATCHKEY_TESTENV/krb5.
#
#   kerberos.sh start      create the realm (once per run folder) and start krb5kdc + kadmind
#   kerberos.sh stop       stop both (by PID) — the realm's files stay until the folder goes
#   kerberos.sh kdc-stop   stop only krb5kdc (tests of "KDC unreachable"); kadmind keeps running
#   kerberos.sh kdc-start  start krb5kdc again, on the same port
#   kerberos.sh reset      put the test principals back as created (passwords, +needchange on
#                          carol) — for tests that change a password
#   kerberos.sh pwexpire PRINCIPAL WHEN
#                          set a test principal's password expiry (kadmin's date syntax, e.g.
#                          "2026-12-05 13:30:00 UTC") — for the sign-in forecast's test
#
# Principals (all @LATCHKEY.TEST):
#   alice          password alice-Kerberos-1, renewable, max ticket life 10h
#   carol          password carol-Old-pass-1, +needchange, policy "strict" (minlength 12)
#   dora           password dora-Kerberos-1, max ticket life 1h, renewable for 5 hours
#   shorty         password shorty-Kerberos-1, max ticket life 2 minutes
#   HTTP/localhost random key, keytab $LATCHKEY_TESTENV/krb5/http.keytab (root:www-data 0640)
#
# Exports (in $LATCHKEY_TESTENV/env.sh): LATCHKEY_TEST_KRB5_CONFIG, LATCHKEY_TEST_REALM,
# LATCHKEY_TEST_KDC_PORT, LATCHKEY_TEST_KADMIN_PORT, LATCHKEY_TEST_KPASSWD_PORT,
# LATCHKEY_TEST_HTTP_KEYTAB. KRB5_CONFIG is never exported globally: /etc/krb5.conf names
# ATHENA.MIT.EDU, so every client must be given the test file explicitly.
source "$(dirname "$0")/common.sh"
[ -n "$LATCHKEY_TESTENV" ] || die "LATCHKEY_TESTENV is not set"

REALM=LATCHKEY.TEST
D="$LATCHKEY_TESTENV/krb5"
DB="$D/kdc"                     # database, stash and ACL: root only
KDC_PID="$D/krb5kdc.pid"
KADMIN_PID="$D/kadmind.pid"
KDC_LOG="$D/krb5kdc.log"
KADMIN_LOG="$D/kadmind.log"
export KRB5_CONFIG="$D/krb5.conf" KRB5_KDC_PROFILE="$D/kdc.conf"
unset KRB5CCNAME   # kadmin.local would name itself after the caller's ticket cache


# True when something accepts TCP connections on 127.0.0.1:$1.
tcp_open() {
    python3 - "$1" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=0.5)
s.close()
EOF
}

ports_env() { # the ports chosen when the realm was created
    # shellcheck disable=SC1091
    source "$D/ports"
}

create_realm() {
    mkdir -p "$D" "$DB"
    chmod 755 "$D"; chmod 700 "$DB"
    local kdc kadmin kpasswd
    kdc=$(free_port)
    kadmin=$(free_port); while [ "$kadmin" = "$kdc" ]; do kadmin=$(free_port); done
    kpasswd=$(free_port)
    while [ "$kpasswd" = "$kdc" ] || [ "$kpasswd" = "$kadmin" ]; do kpasswd=$(free_port); done
    printf 'KDC_PORT=%s\nKADMIN_PORT=%s\nKPASSWD_PORT=%s\n' "$kdc" "$kadmin" "$kpasswd" > "$D/ports"

    # Client configuration. No default_ccache_name: tests set KRB5CCNAME themselves.
    cat > "$D/krb5.conf" <<EOF
[libdefaults]
    default_realm = $REALM
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    rdns = false
    qualify_shortname = ""
    ticket_lifetime = 10h
    renew_lifetime = 7d
    forwardable = true

[realms]
    $REALM = {
        kdc = 127.0.0.1:$kdc
        admin_server = 127.0.0.1:$kadmin
        kpasswd_server = 127.0.0.1:$kpasswd
        default_domain = localhost
    }

[domain_realm]
    localhost = $REALM
    127.0.0.1 = $REALM
    .localhost = $REALM

[logging]
    kdc = FILE:$KDC_LOG
    admin_server = FILE:$KADMIN_LOG
    default = FILE:$D/krb5lib.log
EOF
    # KDC and kadmind configuration: loopback only, our ports, everything under $DB.
    cat > "$D/kdc.conf" <<EOF
[kdcdefaults]
    kdc_listen = 127.0.0.1:$kdc
    kdc_tcp_listen = 127.0.0.1:$kdc

[realms]
    $REALM = {
        database_name = $DB/principal
        key_stash_file = $DB/stash
        acl_file = $DB/kadm5.acl
        kadmind_listen = 127.0.0.1:$kadmin
        kpasswd_listen = 127.0.0.1:$kpasswd
        max_life = 10h
        max_renewable_life = 7d
        default_principal_flags = +renewable +forwardable
    }

[logging]
    kdc = FILE:$KDC_LOG
    admin_server = FILE:$KADMIN_LOG
    default = FILE:$D/krb5lib.log
EOF
    printf '*/admin@%s *\n' "$REALM" > "$DB/kadm5.acl"
    chmod 644 "$D/krb5.conf" "$D/kdc.conf"

    # -W: do not block on /dev/random. The master password is random and only in the stash.
    kdb5_util create -s -W -r "$REALM" -P "$(head -c 24 /dev/urandom | base64)" \
        > "$D/kdb5_util.log" 2>&1 || die "kdb5_util create failed; read $D/kdb5_util.log"

    kadmin.local -r "$REALM" > "$D/kadmin.local.log" 2>&1 <<EOF || die "kadmin.local failed; read $D/kadmin.local.log"
addpol -minlength 12 strict
addprinc -pw alice-Kerberos-1 -maxlife 10h -maxrenewlife 7d +renewable alice
addprinc -pw carol-Old-pass-1 -policy strict +needchange carol
addprinc -pw shorty-Kerberos-1 -maxlife "2 minutes" -maxrenewlife "2 minutes" shorty
addprinc -pw dora-Kerberos-1 -maxlife 1h -maxrenewlife "5 hours" +renewable dora
addprinc -randkey HTTP/localhost
ktadd -k $D/http.keytab HTTP/localhost
EOF
    # kadmin.local reports errors on stderr but still exits 0: check the log.
    if grep -qiE 'error|failed|while ' "$D/kadmin.local.log"; then
        die "kadmin.local reported an error; read $D/kadmin.local.log"
    fi
    [ -s "$D/http.keytab" ] || die "no keytab written; read $D/kadmin.local.log"
    chgrp www-data "$D/http.keytab"; chmod 640 "$D/http.keytab"
}

reset_principals() {
    kadmin.local -r "$REALM" > "$D/kadmin.local.log" 2>&1 <<EOF
cpw -pw alice-Kerberos-1 alice
cpw -pw carol-Old-pass-1 carol
modprinc -policy strict +needchange carol
cpw -pw shorty-Kerberos-1 shorty
EOF
    if grep -qiE 'error|failed|while ' "$D/kadmin.local.log"; then
        die "kadmin.local reported an error; read $D/kadmin.local.log"
    fi
}

start_kdc() {
    alive "$KDC_PID" && return 0
    ports_env
    tcp_open "$KDC_PORT" 2>/dev/null && die "port $KDC_PORT (KDC) is taken by another process"
    # krb5kdc forks into the background and writes its PID with -P.
    krb5kdc -r "$REALM" -P "$KDC_PID" >> "$KDC_LOG" 2>&1 \
        || die "krb5kdc did not start; read $KDC_LOG"
    wait_for 10 tcp_open "$KDC_PORT" || die "krb5kdc is not listening on 127.0.0.1:$KDC_PORT; read $KDC_LOG"
    wait_for 5 test -s "$KDC_PID" || die "krb5kdc wrote no PID file; read $KDC_LOG"
}

start_kadmind() {
    alive "$KADMIN_PID" && return 0
    ports_env
    tcp_open "$KADMIN_PORT" 2>/dev/null && die "port $KADMIN_PORT (kadmind) is taken by another process"
    kadmind -r "$REALM" -P "$KADMIN_PID" >> "$KADMIN_LOG" 2>&1 \
        || die "kadmind did not start; read $KADMIN_LOG"
    wait_for 10 tcp_open "$KADMIN_PORT" || die "kadmind is not listening on 127.0.0.1:$KADMIN_PORT; read $KADMIN_LOG"
    wait_for 10 tcp_open "$KPASSWD_PORT" || die "kadmind (kpasswd) is not listening on 127.0.0.1:$KPASSWD_PORT; read $KADMIN_LOG"
    wait_for 5 test -s "$KADMIN_PID" || die "kadmind wrote no PID file; read $KADMIN_LOG"
}

case "${1:-}" in
start)
    if [ ! -f "$DB/principal" ]; then
        create_realm
        ports_env
        export_var LATCHKEY_TEST_KRB5_CONFIG "$D/krb5.conf"
        export_var LATCHKEY_TEST_REALM "$REALM"
        export_var LATCHKEY_TEST_KDC_PORT "$KDC_PORT"
        export_var LATCHKEY_TEST_KADMIN_PORT "$KADMIN_PORT"
        export_var LATCHKEY_TEST_KPASSWD_PORT "$KPASSWD_PORT"
        export_var LATCHKEY_TEST_HTTP_KEYTAB "$D/http.keytab"
    fi
    start_kdc
    start_kadmind
    ports_env
    log "Kerberos realm $REALM: KDC 127.0.0.1:$KDC_PORT, kadmind :$KADMIN_PORT, kpasswd :$KPASSWD_PORT ($D)"
    ;;
stop)
    stop_pidfile "$KADMIN_PID"
    stop_pidfile "$KDC_PID"
    ;;
kdc-stop)
    stop_pidfile "$KDC_PID"
    ;;
kdc-start)
    [ -f "$DB/principal" ] || die "no realm in $D; run '$0 start' first"
    start_kdc
    ;;
reset)
    [ -f "$DB/principal" ] || die "no realm in $D; run '$0 start' first"
    reset_principals
    ;;
pwexpire)
    [ -f "$DB/principal" ] || die "no realm in $D; run '$0 start' first"
    [ $# -eq 3 ] || die "usage: $0 pwexpire PRINCIPAL WHEN"
    kadmin.local -r "$REALM" -q "modprinc -pwexpire \"$3\" $2" > "$D/kadmin.local.log" 2>&1
    if grep -qiE 'error|failed|while |usage' "$D/kadmin.local.log"; then
        die "kadmin.local reported an error; read $D/kadmin.local.log"
    fi
    ;;
*)
    echo "usage: $0 start|stop|kdc-stop|kdc-start|reset|pwexpire" >&2
    exit 64
    ;;
esac
