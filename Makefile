# Latchkey: `make demo` walks a real device-code sign-in with MFA; `make test` runs every test
# against real servers on loopback. Both install what is missing first.
SWIFT ?= $(shell command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)

.PHONY: all build release test demo bench fuzz clean

all: build

build:
	bash scripts/install-deps.sh
	$(SWIFT) build

# The daemon links the Swift runtime in (--static-swift-stdlib: 2.2 MB less resident memory,
# docs/performance.md): .build/release/latchkeyd. The thin client is rebuilt as one static
# executable, Swift runtime and libc linked in (sync tools start it once per connection):
# .build/static/release/latchkey.
release:
	bash scripts/install-deps.sh
	$(SWIFT) build -c release --static-swift-stdlib
	$(SWIFT) build -c release --product latchkey -Xswiftc -static-executable --scratch-path .build/static

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
