# Sourced by scripts/bench.sh and scripts/idle-memory.sh: the configuration both measure with.
# shellcheck shell=bash

oauth_config() { # ROOT: a file store (a restart needs no new sign-in) and one OAuth account "work"
    cat <<CONFIG
[broker]
store = "file"
key_file = "$1/latchkey.key"
store_file = "$1/data/store.bin"
notify = "none"

[accounts.work]
method = "oauth"
provider = "oidc"
issuer = "$LATCHKEY_TEST_PROVIDER_URL"
client_id = "latchkey-test"
scopes = ["openid", "offline_access", "mail.read"]
ca_file = "$LATCHKEY_TEST_CA"
CONFIG
}
