#!/usr/bin/env bash
# `make install` / `make uninstall` (README "Install"): puts the `make release` binaries, the
# systemd user units, the man pages, the shell completions and the example configuration under
# $DESTDIR$PREFIX, and lists every file and every folder it created in a manifest, which
# `uninstall` reads back to remove exactly those (a folder only when it is empty again).
#
#   scripts/install.sh dist        man pages and completions into .build/dist (from the binaries)
#   scripts/install.sh install     dist unless current, then copy (PREFIX, DESTDIR, MANIFEST from the environment)
#   scripts/install.sh uninstall   remove what the manifest lists
#
# The client finds the daemon beside itself (Autostart.daemonPath): both go into PREFIX/bin.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
export PATH=/opt/swift/usr/bin:$PATH
PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
# Where the manifest goes (inside DESTDIR); empty for none (the Debian package: dpkg keeps its own).
MANIFEST=${MANIFEST-$PREFIX/share/latchkey/install-manifest}
# systemd reads user units from /usr/local/lib/systemd/user and /usr/lib/systemd/user.
USER_UNIT_DIR=${USER_UNIT_DIR:-$PREFIX/lib/systemd/user}
# zsh: Debian's zsh reads /usr/share/zsh/vendor-completions; site-functions is upstream's folder.
if [ "$PREFIX" = /usr ]; then ZSH_DIR=${ZSH_DIR:-/usr/share/zsh/vendor-completions}; else ZSH_DIR=${ZSH_DIR:-$PREFIX/share/zsh/site-functions}; fi
CLIENT=${CLIENT:-.build/static/release/latchkey}
DAEMON=${DAEMON:-.build/release/latchkeyd}
DIST=.build/dist
# Reproducible pages: the date of the last commit, not of the build.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH

die() { echo "install.sh: $*" >&2; exit 1; }

dist() {
    [ -x "$CLIENT" ] && [ -x "$DAEMON" ] || die "$CLIENT or $DAEMON is missing: run \`make release\` first."
    rm -rf "$DIST" && mkdir -p "$DIST/man" "$DIST/completions"
    # latchkey(1), generated from the command definitions by swift-argument-parser's plugin. It
    # builds every product in the configuration given: debug, which `make test` has built already.
    local date out
    date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)
    swift package plugin generate-manual --configuration debug --date "$date" --authors "Latchkey developers" \
        > "$DIST/generate-manual.log" 2>&1 || { cat "$DIST/generate-manual.log" >&2; die "generate-manual failed"; }
    out=.build/plugins/GenerateManual/outputs/latchkey/latchkey.1
    [ -s "$out" ] || die "generate-manual wrote no $out"
    # What --help cannot say (files, environment, examples, see also), in mdoc's section order.
    awk -v extra=docs/man/latchkey.1.extra '
        function part(which,   line, seen) {
            while ((getline line < extra) > 0) {
                if (line ~ /^\.\\" @EXIT-STATUS@/) { seen = 1; continue }
                if (line ~ /^\.\\" / && !seen) continue
                if ((which == 1 && !seen) || (which == 2 && seen)) print line
            }
            close(extra)
        }
        /^\.Sh "EXIT STATUS"/ { part(1) }
        /^\.Sh AUTHORS/ { part(2) }
        { print }' "$out" > "$DIST/man/latchkey.1"
    grep -q '^\.Sh ENVIRONMENT' "$DIST/man/latchkey.1" && grep -q '^\.Sh "SEE ALSO"\|^\.Sh SEE ALSO' "$DIST/man/latchkey.1" \
        || die "the generated latchkey.1 has no EXIT STATUS or AUTHORS section to put the extra sections before"
    local long version
    long=$(LC_ALL=C date -u -d "@$SOURCE_DATE_EPOCH" '+%B %-d, %Y')
    version=$("$CLIENT" --version)
    for page in latchkeyd.8 latchkey.toml.5; do
        sed "s/@VERSION@/$version/; s/@DATE@/$long/" "docs/man/$page" > "$DIST/man/$page"
    done
    for page in "$DIST"/man/*; do gzip -9n "$page"; done
    touch "$DIST/complete"
    # Sourced, never run: no #! line (bash-completion's rule).
    "$CLIENT" --generate-completion-script bash | sed '1{/^#!/d}' > "$DIST/completions/latchkey"
    "$CLIENT" --generate-completion-script zsh > "$DIST/completions/_latchkey"
    "$CLIENT" --generate-completion-script fish > "$DIST/completions/latchkey.fish"
}

created=()   # every file and folder made, for the manifest
make_dir() { # DIR (inside DESTDIR): made one level at a time, each new level recorded
    local dir=$1 parent
    [ -d "$DESTDIR$dir" ] && return
    parent=$(dirname "$dir")
    [ "$parent" != "$dir" ] && make_dir "$parent"
    install -d -m 755 "$DESTDIR$dir"
    created+=("$dir/")
}
put() { # MODE SOURCE DIR [NAME]
    local mode=$1 source=$2 dir=$3 name=${4:-$(basename "$2")}
    make_dir "$dir"
    install -m "$mode" "$source" "$DESTDIR$dir/$name"
    created+=("$dir/$name")
}

install_all() {
    [ -z "$MANIFEST" ] || [ ! -e "$DESTDIR$MANIFEST" ] || die "$DESTDIR$MANIFEST exists: \`make uninstall\` first."
    # `make release` made .build/dist already (as the user: `sudo make install` only copies).
    if [ ! -e "$DIST/complete" ] || [ "$CLIENT" -nt "$DIST/complete" ] || [ "$DAEMON" -nt "$DIST/complete" ]; then dist; fi
    put 755 "$CLIENT" "$PREFIX/bin"
    put 755 "$DAEMON" "$PREFIX/bin"
    local units
    units=$(mktemp -d)
    trap 'rm -rf "$units"' RETURN
    sed "s|^ExecStart=/usr/bin/latchkeyd |ExecStart=$PREFIX/bin/latchkeyd |" config/latchkey.service > "$units/latchkey.service"
    grep -q "^ExecStart=$PREFIX/bin/latchkeyd serve\$" "$units/latchkey.service" || die "config/latchkey.service: no ExecStart to rewrite"
    put 644 "$units/latchkey.service" "$USER_UNIT_DIR"
    put 644 config/latchkey.socket "$USER_UNIT_DIR"
    put 644 "$DIST/man/latchkey.1.gz" "$PREFIX/share/man/man1"
    put 644 "$DIST/man/latchkey.toml.5.gz" "$PREFIX/share/man/man5"
    put 644 "$DIST/man/latchkeyd.8.gz" "$PREFIX/share/man/man8"
    put 644 "$DIST/completions/latchkey" "$PREFIX/share/bash-completion/completions"
    put 644 "$DIST/completions/_latchkey" "$ZSH_DIR"
    put 644 "$DIST/completions/latchkey.fish" "$PREFIX/share/fish/vendor_completions.d"
    put 644 config/latchkey.example.toml "$PREFIX/share/doc/latchkey"
    if [ -n "$MANIFEST" ]; then
        make_dir "$(dirname "$MANIFEST")"
        created+=("$MANIFEST")
        printf '%s\n' "${created[@]}" > "$DESTDIR$MANIFEST"
    fi
    echo "Installed under $DESTDIR$PREFIX. Per user: systemctl --user enable --now latchkey.socket"
}

uninstall_all() {
    [ -n "$MANIFEST" ] && [ -f "$DESTDIR$MANIFEST" ] || die "no manifest at $DESTDIR$MANIFEST: nothing was installed there."
    local entry entries=()
    mapfile -t entries < "$DESTDIR$MANIFEST"
    # Files first, then folders deepest first (the manifest lists each folder before its content).
    for entry in "${entries[@]}"; do
        case $entry in */) ;; /*) rm -f "$DESTDIR$entry" ;; *) die "manifest line is not an absolute path: $entry" ;; esac
    done
    for ((i = ${#entries[@]} - 1; i >= 0; i--)); do
        entry=${entries[$i]}
        case $entry in /*/) rmdir "$DESTDIR$entry" 2>/dev/null || echo "kept $DESTDIR$entry (not empty)" ;; esac
    done
    echo "Removed what $DESTDIR$MANIFEST listed."
}

case ${1:-} in
    dist) dist ;;
    install) install_all ;;
    uninstall) uninstall_all ;;
    *) die "usage: install.sh dist|install|uninstall" ;;
esac
