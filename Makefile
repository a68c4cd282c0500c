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

# The long fuzz run: the seeded mutator of Tests/LatchkeyServerTests/SocketHardeningTests.swift
# over the real socket and the parsers (make test runs 1,500 inputs of each).
FUZZ_ITERATIONS ?= 100000
fuzz:
	bash scripts/install-deps.sh
	$(SWIFT) build --build-tests
	LATCHKEY_FUZZ_ITERATIONS=$(FUZZ_ITERATIONS) $(SWIFT) test --skip-build --filter 'mutatedRequestsNeverCrashTheDaemon|parsersNeverCrashOnMutatedInput' 2>&1 | grep -E 'fuzz:|✔|✘'

clean:
	$(SWIFT) package clean
	rm -rf .testenv
