#!/usr/bin/env bash
# `make deb`: a Debian binary package of the `make release` binaries, with Debian's own tools:
# `make install` into a staging root (PREFIX=/usr, no manifest: dpkg keeps the file list), the
# binaries stripped, dpkg-shlibdeps for the run-time library dependencies, dpkg-gencontrol for
# the control file, dpkg-deb to build, lintian to check (each tag left is explained in
# packaging/debian/lintian-overrides). Prints the path of the .deb on standard output.
#
# No maintainer scripts: the systemd user units are not enabled for anybody. Each user who wants
# the daemon runs `systemctl --user enable --now latchkey.socket`; an administrator who wants it
# for every user runs `systemctl --global enable latchkey.socket` (README "Install").
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
OUT=.build/deb
ROOT=$OUT/root
DEBIAN=packaging/debian
rm -rf "$OUT" && mkdir -p "$ROOT"
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH

PREFIX=/usr DESTDIR="$ROOT" MANIFEST= USER_UNIT_DIR=/usr/lib/systemd/user bash scripts/install.sh install >&2
# Symbols serve no one here: the daemon's crash handler is off (SWIFT_BACKTRACE=enable=no).
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$ROOT/usr/bin/latchkey" "$ROOT/usr/bin/latchkeyd"

doc=$ROOT/usr/share/doc/latchkey
install -m 644 "$DEBIAN/copyright" "$doc/copyright"
gzip -9n < "$DEBIAN/changelog" > "$doc/changelog.gz" && chmod 644 "$doc/changelog.gz"
install -d -m 755 "$ROOT/usr/share/lintian/overrides"
grep -v '^#' "$DEBIAN/lintian-overrides" | grep . > "$ROOT/usr/share/lintian/overrides/latchkey" || true
[ -s "$ROOT/usr/share/lintian/overrides/latchkey" ] || rm -r "$ROOT/usr/share/lintian"

# Dependencies from the libraries the daemon links (the thin client is static: none); libcurl4,
# which the daemon loads at its first transfer (dlopen), and libc6 >= 2.36, which its packed
# relocations need (DT_RELR), are named in packaging/debian/control.
install -d -m 755 "$ROOT/DEBIAN"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/debian" && cp "$DEBIAN/control" "$work/debian/control"  # dpkg-shlibdeps reads it
(cd "$work" && dpkg-shlibdeps -O -e"$REPO/$ROOT/usr/bin/latchkeyd") > "$work/substvars"
dpkg-gencontrol -c"$DEBIAN/control" -l"$DEBIAN/changelog" -T"$work/substvars" -P"$ROOT" \
    -f"$work/files" -DInstalled-Size="$(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)"
# dpkg-gencontrol leaves the tree's modes alone: 0755 folders, 0644 files, 0755 executables.
find "$ROOT" -type d -exec chmod 755 {} +
(cd "$ROOT" && find usr -type f -print0 | LC_ALL=C sort -z | xargs -0 md5sum) > "$ROOT/DEBIAN/md5sums"
chmod 644 "$ROOT/DEBIAN/md5sums"
dpkg-deb --root-owner-group -Zxz --build "$ROOT" "$work/latchkey.deb" >&2
deb=$OUT/$(dpkg-deb --field "$work/latchkey.deb" Package)_$(dpkg-deb --field "$work/latchkey.deb" Version)_$(dpkg-deb --field "$work/latchkey.deb" Architecture).deb
mv "$work/latchkey.deb" "$deb"

if command -v lintian >/dev/null 2>&1; then
    # --fail-on warning: an error or warning that no override explains fails `make deb`.
    lintian --fail-on error,warning --display-info "$deb" >&2
else
    echo "deb.sh: lintian is not installed: not checked" >&2
fi
echo "$deb"
