# Latchkey: `make demo` walks a real device-code sign-in with MFA; `make test` runs every test
# against real servers on loopback. Both install what is missing first.
SWIFT ?= $(shell command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)

.PHONY: all build release test demo clean

all: build

build:
	bash scripts/install-deps.sh
	$(SWIFT) build

release:
	bash scripts/install-deps.sh
	$(SWIFT) build -c release

test:
	bash scripts/test.sh

demo:
	bash scripts/demo.sh

clean:
	$(SWIFT) package clean
	rm -rf .testenv
