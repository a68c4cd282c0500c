#!/usr/bin/env bash
# Installs what Latchkey's build, tests and demo need, and nothing when it is all there.
# Debian packages with --no-install-recommends; Python packages go into a venv (venv.sh).
set -euo pipefail
packages=(
    pkg-config libc6-dev libcurl4-openssl-dev libssl-dev libkrb5-dev libsecret-1-dev libglib2.0-dev  # build (libc6-dev: libc.a for the static thin client)
    krb5-kdc krb5-admin-server krb5-user                                      # test realm
    apache2 libapache2-mod-auth-gssapi                                        # Negotiate server
    gnome-keyring libsecret-tools dbus-daemon dbus                            # Secret Service
    openssl curl ca-certificates python3-venv tmux git systemd faketime       # test tools
    dovecot-core dovecot-imapd dovecot-submissiond dovecot-lmtpd postfix       # mail servers (mail.sh)
    php-cli php-horde-activesync php-horde-controller php-horde-db php-sqlite3 php8.2-mbstring  # ActiveSync server (activesync.sh)
    libwbxml2-utils                                                           # wbxml2xml: decodes WBXML when checking
    msmtp isync libsasl2-modules-kdexoauth2 neomutt aerc offlineimap3          # mail clients run by the tests
    dpkg-dev lintian man-db                                                   # make deb, its install test
)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "install-deps: installing ${missing[*]}" >&2
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
    $SUDO apt-get update -qq
    # The tests start their own Postfix and Dovecot on loopback (scripts/testenv/mail.sh): the
    # packages' system-wide servers are not wanted. Postfix without configuration starts none.
    echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    if [[ " ${missing[*]} " == *" dovecot-core "* ]] && [ -d /run/systemd/system ]; then
        $SUDO systemctl disable --now dovecot.service dovecot.socket >/dev/null 2>&1 || true
    fi
fi
if ! command -v swift >/dev/null 2>&1 && [ ! -x /opt/swift/usr/bin/swift ]; then
    echo "install-deps: Swift 6.2 or later is needed (expected at /opt/swift)" >&2
    exit 1
fi
