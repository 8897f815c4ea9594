# arangomesos — build, run and test. See README.md.
GO      ?= go
BIN     := bin/arangomesos
PKGS    := ./...
# The whole suite must stay well under 30 minutes on 2 cores; this is a hard stop.
TEST_TIMEOUT ?= 40m
BENCH_TIME   ?= 1x
FUZZTIME     ?= 20000x

.PHONY: all build run test test-deps unit lint bench chaos fuzz clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/arangomesos

# The main job: a whole cluster on this machine (see README).
run: build
	./$(BIN) dev

# Everything a fresh machine needs, then lint, the whole suite and a short
# fuzz run of every parser.
test: test-deps lint unit fuzz

test-deps:
	./scripts/install-test-deps.sh

# Tests that need ZooKeeper or Chromium fail (not skip) when they are
# missing, so CI never passes without them.
unit:
	ARANGOMESOS_REQUIRE_ZOOKEEPER=1 ARANGOMESOS_REQUIRE_CHROMIUM=1 $(GO) test -timeout $(TEST_TIMEOUT) -count=1 $(PKGS)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

bench: build
	./scripts/bench.sh

fuzz:
	FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh

chaos:
	ARANGOMESOS_CHAOS_ROUNDS=200 $(GO) test -timeout 60m -count=1 -run TestChaos ./node/...

clean:
	rm -rf bin
