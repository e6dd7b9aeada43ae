# gatehouse: `make run` starts a demo, `make test` runs every test.
SHELL      := /bin/bash
GO         ?= go
BIN        := bin/gatehouse
DEMO_ROOT  ?= .cache/demo
SECRET     := .cache/dev-jwt-secret
ADDR       ?= 127.0.0.1:8280
FUZZTIME   ?= 5s
GOFLAGS_TEST ?= -race -count=1 -timeout 30m

.PHONY: all build run test unit rego lint fuzz bench bench-decisions bench-replicas bench-revocation load load-opa redis-server curl promtool chromium clean

all: build

# build stamps what the Go build info lacks (no vcs.* from a git worktree or
# with -buildvcs=false; never the build date): `gatehouse version` prints it.
GIT_VERSION  = $(shell git describe --tags --always --dirty 2>/dev/null)
GIT_COMMIT   = $(shell git rev-parse HEAD 2>/dev/null)
GIT_DATE     = $(shell git show -s --format=%cI HEAD 2>/dev/null)
GIT_MODIFIED = $(shell [ -n "$$(git status --porcelain 2>/dev/null | head -1)" ] && echo true)
BUILD_LDFLAGS = -X main.version=$(GIT_VERSION) -X main.commit=$(GIT_COMMIT) -X main.commitDate=$(GIT_DATE) \
	-X main.modified=$(GIT_MODIFIED) -X main.buildDate=$(shell date -u +%Y-%m-%dT%H:%M:%SZ)

build:
	$(GO) build -ldflags "$(BUILD_LDFLAGS)" -o $(BIN) ./cmd/gatehouse

$(SECRET):
	@mkdir -p $(dir $@)
	@head -c 32 /dev/urandom | base64 > $@
	@chmod 600 $@

# run: a fresh embedded store with testdata/demo.json under $(DEMO_ROOT)/<ADDR>,
# its decision log beside it, and the server on $(ADDR). Refuses while a demo
# already runs on $(ADDR). The README's bash blocks run against it (TestReadme).
run: build $(SECRET)
	@exec scripts/demo-run.sh $(BIN) $(ADDR) $(DEMO_ROOT) $(SECRET)

# test: everything CI runs. Needs redis-server and redis-cli, curl, promtool and
# chromium (installed from Debian when missing): the Redis tests (a 3-master
# Redis Cluster and a Sentinel deployment among them), the README's commands
# (TestReadme), the lint of /metrics (TestMetricsPassPromtool) and the
# console's browser tests (adapters/console/browsertest).
test: redis-server curl promtool chromium lint rego unit fuzz

# unit: every package's tests, results printed as each package finishes.
unit:
	@scripts/test-go.sh $(GOFLAGS_TEST)

rego: build
	$(BIN) policy fmt --check policies
	$(BIN) policy check policies
	$(BIN) policy test policies

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@$(GO) mod tidy -diff || { echo "go mod tidy would change go.mod or go.sum: run go mod tidy"; exit 1; }

fuzz:
	@scripts/fuzz.sh $(FUZZTIME)

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# load: wrk against /v1/decisions beside a trivial Gin route, in one run.
load: build
	scripts/load.sh

# load-opa: the same decision through `opa run --server` and gatehouse, in one run.
load-opa: build
	scripts/load-vs-opa.sh

# bench-decisions: gatehouse against `opa run --server` on a seeded data set of
# 10,000 accounts and 100,000 memberships, 20,000 distinct questions and a
# Zipf mix, same Rego and inputs, answers checked equal, wrk interleaved.
# DURATION, ROUNDS, CONNS, SEED, SERVE_ARGS, GATEHOUSE_ENV: see the script.
bench-decisions: build
	scripts/bench-decisions.sh

# bench-replicas: 1, 2 and 4 `gatehouse serve` replicas with the bench-decisions data
# set, wrk against all of them at once, on one standalone redis-server without and with
# the replicas' local cache (--cache-max-bytes 0, then CACHE, default 64 MiB, warmed
# first) and on a 3-master Redis Cluster the script starts (no local cache there: go-redis
# caches standalone clients only): decisions/s per replica, Redis CPU and commands per
# decision (summed over the cluster's masters). REPLICAS, DURATION, CONNS, SERVE_ARGS:
# see the script.
bench-replicas: build
	scripts/bench-replicas.sh

# bench-revocation: three replicas on one Redis, each with its client-side cache; 1,000
# revocations (memberships and access grants) through one, and from each write's answer the
# time to the first deny on the two others: p50, p99, max (issue 11). REVOCATIONS sets the number,
# REDIS_URL another Redis for the replicas (a Sentinel, a Cluster); CLUSTER=1 runs them on a
# 3-master Redis Cluster the test starts (with the client-side cache, one per master; none behind Sentinel).
REVOCATIONS ?= 1000
REDIS_URL ?=
CLUSTER ?=
bench-revocation: redis-server promtool
	$(GO) test -count=1 -timeout 60m -run TestRevocationVisibleEverywhere -v ./cmd/gatehouse/revocationtest \
		-revocations $(REVOCATIONS) -redis-url '$(REDIS_URL)' $(if $(CLUSTER),-cluster)

redis-server:
	@scripts/ensure-redis.sh

curl:
	@scripts/ensure-tool.sh curl curl "the README's commands (TestReadme in cmd/gatehouse)"

promtool:
	@scripts/ensure-promtool.sh

chromium:
	@scripts/ensure-chromium.sh

clean:
	rm -rf bin .cache
