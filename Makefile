# Latchkey: `make demo` walks a real device-code sign-in with MFA; `make test` runs every test
# against real servers on loopback. Both install what is missing first.
SWIFT ?= $(shell command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)

.PHONY: all build release install uninstall deb test demo bench fuzz clean

all: build

build:
	bash scripts/install-deps.sh
	$(SWIFT) build

# The daemon links the Swift runtime in (--static-swift-stdlib: 2.2 MB less resident memory,
# docs/performance.md): .build/release/latchkeyd. The thin client is rebuilt as one static
# executable, Swift runtime and libc linked in (sync tools start it once per connection):
# .build/static/release/latchkey. Then the man pages and completions for `make install` and
# `make deb` (.build/dist; swift-argument-parser's generate-manual plugin builds the debug products).
release:
	bash scripts/install-deps.sh
	$(SWIFT) build -c release --static-swift-stdlib
	$(SWIFT) build -c release --product latchkey -Xswiftc -static-executable --scratch-path .build/static
	bash scripts/install.sh dist

# `make install` (README "Install"): both executables into PREFIX/bin, the systemd user units,
# man pages, bash/zsh/fish completions and the example configuration, listed in a manifest
# that `make uninstall` reads back. Builds with `make release` first when its binaries are missing.
PREFIX ?= /usr/local
DESTDIR ?=
RELEASE_BINARIES = .build/release/latchkeyd .build/static/release/latchkey

$(RELEASE_BINARIES):
	$(MAKE) release

install: $(RELEASE_BINARIES)
	PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) bash scripts/install.sh install

uninstall:
	PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) bash scripts/install.sh uninstall

# `make deb`: .build/deb/latchkey_VERSION_ARCH.deb (dpkg-deb, dpkg-shlibdeps, lintian).
deb: $(RELEASE_BINARIES)
	bash scripts/deb.sh

test:
	bash scripts/test.sh

demo:
	bash scripts/demo.sh

bench:
	bash scripts/bench.sh

# Coverage-guided fuzzing with libFuzzer (scripts/fuzz.sh, docs/security-testing.md): every
# parser that sees outside bytes, FUZZ_SECONDS per target (FUZZ_TARGETS="json toml" for some),
# after replaying the committed regression inputs. Built apart, in .build-fuzz.
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?=
fuzz:
	bash scripts/install-deps.sh
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/fuzz.sh run $(FUZZ_TARGETS)

clean:
	$(SWIFT) package clean
	rm -rf .testenv
