#!/usr/bin/env bash
# A standalone Apache httpd under $LATCHKEY_TESTENV/apache (not /etc/apache2's sites), with
# Kerberos (mod_auth_gssapi) and Basic locations, on a plain-HTTP and an HTTPS port.
#
#   apache.sh start    write the config (once per run folder) and start httpd
#   apache.sh stop     stop it (by the PID in its PidFile)
#
# Needs kerberos.sh start (the keytab and krb5.conf) and ca.sh (run here if missing).
# Listens on 127.0.0.1 and ::1 (curl resolves "localhost" to both, whatever /etc/hosts says).
# The service principal is HTTP/localhost@LATCHKEY.TEST, i.e. the GSSAPI host-based service
# name HTTP@localhost: clients must use the host name "localhost" (or be told the SPN) —
# curl --negotiate derives the SPN from the URL host, so http://127.0.0.1:PORT/krb/ fails.
#
# Locations, identical on both ports; each answers "ok <REMOTE_USER>" (server-side include)
# and the response header X-Remote-User (on 2xx, when a user is authenticated):
#   /krb/    AuthType GSSAPI only (Negotiate, krb5 mech, no Basic). No sessions, no
#            connection binding: every request needs a fresh token, and a replayed token is
#            refused (MIT replay cache in $LATCHKEY_TESTENV/apache/rcache) -> 401.
#   /both/   AuthType GSSAPI with GssapiBasicAuth On: 401 offers "Negotiate" AND
#            'Basic realm="Latchkey Test"'. Basic passwords are checked against the KDC,
#            so Basic alice / alice-Kerberos-1 works (NOT the htpasswd password).
#   /basic/  AuthType Basic only, htpasswd user alice / alice-Basic-pass-1.
#   /open/   no authentication, body "ok" (probes; the normal Date header).
#
# Exports: LATCHKEY_TEST_APACHE_HTTP=http://127.0.0.1:PORT,
#          LATCHKEY_TEST_APACHE_HTTPS=https://localhost:PORT (CA: $LATCHKEY_TESTENV/ca/ca.pem),
#          LATCHKEY_TEST_APACHE_HTTP_PORT, LATCHKEY_TEST_APACHE_HTTPS_PORT,
#          LATCHKEY_TEST_HTTP_SPN=HTTP@localhost.
source "$(dirname "$0")/common.sh"
[ -n "$LATCHKEY_TESTENV" ] || die "LATCHKEY_TESTENV is not set"

A="$LATCHKEY_TESTENV/apache"
K="$LATCHKEY_TESTENV/krb5"
CONF="$A/httpd.conf"
PIDFILE="$A/run/httpd.pid"
ERRLOG="$A/logs/error.log"
MODS=/usr/lib/apache2/modules


# 200 from /open/ on the plain port means the server is up.
answers() {
    curl -s --noproxy '*' -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$1/open/" | grep -qx 200
}

write_config() {
    [ -f "$K/http.keytab" ] || die "no keytab at $K/http.keytab; run scripts/testenv/kerberos.sh start first"
    [ -f "$LATCHKEY_TESTENV/ca/server.pem" ] || bash "$(dirname "$0")/ca.sh"
    # The workers run as www-data: they must reach the keytab and krb5.conf.
    runuser -u www-data -- test -r "$K/http.keytab" -a -r "$K/krb5.conf" \
        || die "www-data cannot read $K/http.keytab; every folder above it must be traversable (chmod 755 \$LATCHKEY_TESTENV)"
    mkdir -p "$A"/{run,logs,rcache,htdocs/{krb,both,basic,open}}
    chmod 755 "$A" "$A/htdocs" "$A"/htdocs/*
    # www-data (the workers) writes the replay cache; root (the parent) writes run/ and logs/.
    chown www-data:www-data "$A/rcache"; chmod 700 "$A/rcache"

    # ::1 too when this machine has it (some containers have no IPv6 loopback).
    local http https v6=no
    python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null && v6=yes
    http=$(free_port)
    https=$(free_port); while [ "$https" = "$http" ]; do https=$(free_port); done
    printf 'HTTP_PORT=%s\nHTTPS_PORT=%s\n' "$http" "$https" > "$A/ports"

    for d in krb both basic; do
        printf 'ok <!--#echo var="REMOTE_USER" -->\n' > "$A/htdocs/$d/index.shtml"
    done
    printf 'ok\n' > "$A/htdocs/open/index.shtml"
    printf 'ok\n' > "$A/htdocs/index.shtml"
    chmod 644 "$A"/htdocs/index.shtml "$A"/htdocs/*/index.shtml

    # htpasswd (bcrypt) from apache2-utils, which apache2 depends on.
    htpasswd -B -b -c "$A/htpasswd" alice alice-Basic-pass-1 > /dev/null 2>&1 \
        || die "htpasswd failed (package apache2-utils)"
    chgrp www-data "$A/htpasswd"; chmod 640 "$A/htpasswd"

    cat > "$A/locations.conf" <<EOF
DocumentRoot "$A/htdocs"
<Directory "$A/htdocs">
    Options +Includes
    AllowOverride None
    Require all granted
    DirectoryIndex index.shtml
    AddOutputFilter INCLUDES .shtml
    ForceType text/plain
</Directory>
Header set X-Remote-User "expr=%{REMOTE_USER}" "expr=-n %{REMOTE_USER}"

<Location "/krb/">
    AuthType GSSAPI
    AuthName "Latchkey Test"
    GssapiCredStore keytab:$K/http.keytab
    GssapiAllowedMech krb5
    GssapiBasicAuth Off
    GssapiUseSessions Off
    GssapiConnectionBound Off
    GssapiNegotiateOnce Off
    Require valid-user
</Location>

<Location "/both/">
    AuthType GSSAPI
    AuthName "Latchkey Test"
    GssapiCredStore keytab:$K/http.keytab
    GssapiAllowedMech krb5
    GssapiBasicAuth On
    GssapiBasicAuthMech krb5
    GssapiUseSessions Off
    GssapiConnectionBound Off
    Require valid-user
</Location>

<Location "/basic/">
    AuthType Basic
    AuthName "Latchkey Test"
    AuthBasicProvider file
    AuthUserFile "$A/htpasswd"
    Require valid-user
</Location>
EOF

    cat > "$CONF" <<EOF
# Generated by scripts/testenv/apache.sh — a standalone server, nothing from /etc/apache2.
ServerRoot "$A"
ServerName localhost
DefaultRuntimeDir "$A/run"
PidFile "$PIDFILE"
Mutex file:$A/run default
User www-data
Group www-data
ErrorLog "$ERRLOG"
LogLevel warn auth_gssapi:info ssl:warn
LogFormat "%h %u \"%r\" %>s %b \"%{Authorization}i\"" lk
CustomLog "$A/logs/access.log" lk
ServerTokens Prod
Timeout 30
KeepAlive On

LoadModule mpm_event_module $MODS/mod_mpm_event.so
LoadModule authn_core_module $MODS/mod_authn_core.so
LoadModule authn_file_module $MODS/mod_authn_file.so
LoadModule authz_core_module $MODS/mod_authz_core.so
LoadModule authz_user_module $MODS/mod_authz_user.so
LoadModule auth_basic_module $MODS/mod_auth_basic.so
LoadModule auth_gssapi_module $MODS/mod_auth_gssapi.so
LoadModule mime_module $MODS/mod_mime.so
LoadModule dir_module $MODS/mod_dir.so
LoadModule include_module $MODS/mod_include.so
LoadModule headers_module $MODS/mod_headers.so
LoadModule socache_shmcb_module $MODS/mod_socache_shmcb.so
LoadModule ssl_module $MODS/mod_ssl.so

TypesConfig /dev/null
StartServers 1
ServerLimit 4
ThreadsPerChild 16
MaxRequestWorkers 64
MinSpareThreads 8
MaxSpareThreads 32

Listen 127.0.0.1:$http
$([ $v6 = yes ] && echo "Listen [::1]:$http")
Listen 127.0.0.1:$https https
$([ $v6 = yes ] && echo "Listen [::1]:$https https")

SSLSessionCache "shmcb:$A/run/ssl_scache(512000)"

<Directory />
    AllowOverride None
    Require all denied
</Directory>

<VirtualHost 127.0.0.1:$http$([ $v6 = yes ] && echo " [::1]:$http")>
    ServerName localhost
    Include "$A/locations.conf"
</VirtualHost>

<VirtualHost 127.0.0.1:$https$([ $v6 = yes ] && echo " [::1]:$https")>
    ServerName localhost
    SSLEngine on
    SSLCertificateFile "$LATCHKEY_TESTENV/ca/server.pem"
    SSLCertificateKeyFile "$LATCHKEY_TESTENV/ca/server.key"
    Include "$A/locations.conf"
</VirtualHost>
EOF
    export_var LATCHKEY_TEST_APACHE_HTTP "http://127.0.0.1:$http"
    # The SPN is HTTP/localhost (GSSAPI name HTTP@localhost): use the host name localhost.
    export_var LATCHKEY_TEST_APACHE_HTTPS "https://localhost:$https"
    export_var LATCHKEY_TEST_APACHE_HTTP_PORT "$http"
    export_var LATCHKEY_TEST_APACHE_HTTPS_PORT "$https"
    export_var LATCHKEY_TEST_HTTP_SPN "HTTP@localhost"
}

case "${1:-}" in
start)
    alive "$PIDFILE" && exit 0
    [ -f "$CONF" ] || write_config
    # shellcheck disable=SC1091
    source "$A/ports"
    # The httpd process's own environment (not SetEnv): the test realm, its keytab, and a
    # private replay cache.
    KRB5_CONFIG="$K/krb5.conf" KRB5_KTNAME="FILE:$K/http.keytab" KRB5RCACHEDIR="$A/rcache" \
        apache_start "$CONF" "$A/logs" "$PIDFILE" "Apache (127.0.0.1:$HTTP_PORT)" answers "$HTTP_PORT"
    log "Apache on http://127.0.0.1:$HTTP_PORT and https://localhost:$HTTPS_PORT ($A)"
    ;;
stop)
    stop_pidfile "$PIDFILE"
    ;;
*)
    echo "usage: $0 start|stop" >&2
    exit 64
    ;;
esac
