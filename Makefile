# zrouter: build, run, test, fuzz, benchmark and lint.
#
#   make build   build bin/zrouter
#   make run     run the demo (a broker, workers and clients) until Ctrl-C
#   make test    install what the tests need when missing, then run every test
#   make fuzz    run each fuzz target for FUZZTIME (default 30s)
#   make bench   Go benchmarks, then the comparison with libzmq and go-zeromq
#   make lint    gofmt, go vet and staticcheck on every module
#
# Four modules, tied together by go.work: the library (this directory),
# the CLI (cmd/zrouter), the interop tests (interop) and the Prometheus
# collector (prom), which only its importers require. The library's
# tests need neither cgo nor libzmq; the interop module's need both.

GO ?= go
FUZZTIME ?= 30s
GOBIN_DIR := $(or $(shell $(GO) env GOBIN),$(shell $(GO) env GOPATH)/bin)
STATICCHECK := $(GOBIN_DIR)/staticcheck
# apt-get needs root: use sudo only when not running as root.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
MODULES := . cmd/zrouter interop prom
# Every go command here runs in the repository's workspace, whatever GOWORK
# says in the environment: cmd/zrouter builds against the library next to it.
export GOWORK := $(CURDIR)/go.work

.PHONY: build run test deps fuzz bench lint

build:
	$(GO) build -o bin/zrouter ./cmd/zrouter

run: build
	./bin/zrouter demo

# The interop module links libzmq through cgo: install its development files
# (and pkg-config, which cgo uses to find them) when they are missing. Its
# JeroMQ tests compile a Java peer against Debian's JeroMQ (ZMTP 2.0): install
# it, and a JDK when javac is missing (about 25 s here, 119 MB fetched). They
# also run it on JeroMQ 0.6 (ZMTP 3.0), which only trixie packages: fetch06.sh
# unpacks it into JEROMQ6_DIR, not installed (about 6 s, 15 MB of index).
JEROMQ_JAR ?= /usr/share/java/jeromq.jar
export JEROMQ6_DIR ?= $(CURDIR)/interop/.jeromq-0.6
deps:
	@if ! pkg-config --exists libzmq 2>/dev/null; then \
		echo "libzmq development files missing: installing libzmq3-dev and pkg-config"; \
		$(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y libzmq3-dev pkg-config; \
	fi
	@if [ ! -f "$(JEROMQ_JAR)" ] || ! command -v javac >/dev/null 2>&1; then \
		echo "JeroMQ or javac missing: installing libjeromq-java and default-jdk-headless"; \
		$(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y libjeromq-java default-jdk-headless; \
	fi
	@if [ ! -f "$(JEROMQ6_DIR)/jeromq.jar" ] || [ ! -f "$(JEROMQ6_DIR)/jnacl.jar" ]; then \
		echo "JeroMQ 0.6 missing: fetching trixie's libjeromq-java into $(JEROMQ6_DIR)"; \
		sh interop/testdata/jeromq/fetch06.sh "$(JEROMQ6_DIR)"; \
	fi

test: deps
	@set -e; for m in $(MODULES); do \
		echo "go test -race $$m"; \
		(cd $$m && $(GO) test -race -count=1 ./...); \
	done

fuzz:
	$(GO) test -run=^$$ -fuzz=^FuzzReader$$ -fuzztime=$(FUZZTIME) ./zmtp
	$(GO) test -run=^$$ -fuzz=^FuzzGreeting$$ -fuzztime=$(FUZZTIME) ./zmtp
	$(GO) test -run=^$$ -fuzz=^FuzzCommand$$ -fuzztime=$(FUZZTIME) ./zmtp
	$(GO) test -run=^$$ -fuzz=^FuzzMetadata$$ -fuzztime=$(FUZZTIME) ./zmtp
	$(GO) test -run=^$$ -fuzz=^FuzzHandshake$$ -fuzztime=$(FUZZTIME) ./zmtp
	$(GO) test -run=^$$ -fuzz=^FuzzHandshakeStaged$$ -fuzztime=$(FUZZTIME) ./zmtp
	$(GO) test -run=^$$ -fuzz=^FuzzHandshakeV2$$ -fuzztime=$(FUZZTIME) ./zmtp
	$(GO) test -run=^$$ -fuzz=^FuzzPlainServer$$ -fuzztime=$(FUZZTIME) ./zmtp
	$(GO) test -run=^$$ -fuzz=^FuzzPlainClient$$ -fuzztime=$(FUZZTIME) ./zmtp
	$(GO) test -run=^$$ -fuzz=^FuzzCurveServer$$ -fuzztime=$(FUZZTIME) ./zmtp
	$(GO) test -run=^$$ -fuzz=^FuzzCurveClient$$ -fuzztime=$(FUZZTIME) ./zmtp
	$(GO) test -run=^$$ -fuzz=^FuzzCurveOpen$$ -fuzztime=$(FUZZTIME) ./zmtp
	$(GO) test -run=^$$ -fuzz=^FuzzZ85$$ -fuzztime=$(FUZZTIME) ./zmtp
	$(GO) test -run=^$$ -fuzz=^FuzzLoadBalancerMessages$$ -fuzztime=$(FUZZTIME) ./device
	$(GO) test -run=^$$ -fuzz=^FuzzParse$$ -fuzztime=$(FUZZTIME) ./internal/transport
	$(GO) test -run=^$$ -fuzz=^FuzzSubscriptions$$ -fuzztime=$(FUZZTIME) ./internal/pubsub
	$(GO) test -run=^$$ -fuzz=^FuzzFilterParts$$ -fuzztime=$(FUZZTIME) ./internal/pubsub
	$(GO) test -run=^$$ -fuzz=^FuzzSendParts$$ -fuzztime=$(FUZZTIME) ./internal/pubsub

bench: deps
	$(GO) test -run=^$$ -bench=. -benchmem ./...
	cd interop && $(GO) run ./cmd/zbench
	cd interop && $(GO) run ./cmd/zbench -inproc

lint: deps
	@if [ ! -x "$(STATICCHECK)" ]; then \
		echo "installing staticcheck"; \
		$(GO) install honnef.co/go/tools/cmd/staticcheck@latest; \
	fi
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then \
		echo "gofmt -l: these files need gofmt -w:"; echo "$$out"; exit 1; \
	fi
	@set -e; for m in $(MODULES); do \
		echo "go vet and staticcheck $$m"; \
		(cd $$m && $(GO) vet ./... && $(STATICCHECK) ./...); \
	done
