# Developer shortcuts. CI runs the same cross-build as `make release` (see .ci/run).

.PHONY: build release bench bench-paired bench-proxied

# Version and commit stamped into the binary (certgate version).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)

# build writes ./certgate for this machine.
build:
	go build -trimpath -ldflags "$(LDFLAGS)" -o certgate ./cmd/certgate

# release cross-builds the platforms admins run certgate on (the doctor
# commands included: IIS admins run them on Windows) into dist/, with
# SHA-256 sums.
RELEASE_PLATFORMS := linux/amd64 linux/arm64 windows/amd64 darwin/arm64
release:
	rm -rf dist && mkdir -p dist
	for p in $(RELEASE_PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; ext=; [ $$os = windows ] && ext=.exe; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch go build -trimpath -ldflags "$(LDFLAGS)" \
			-o dist/certgate-$(VERSION)-$$os-$$arch$$ext ./cmd/certgate || exit 1; \
	done
	cd dist && sha256sum certgate-* > SHA256SUMS

# bench runs ../shared/bench (nginx, HAProxy, raw Go and certgate side by side) with a
# 1-entry and a 1,000,001-entry CRL and writes the tables into docs/benchmarks.md.
# Needs nginx and haproxy; BENCH_FLAGS is passed to bench/run.sh (e.g. -d 10s -n 3).
bench:
	bench/run.sh $(BENCH_FLAGS)

# bench-paired measures keep-alive requests of certgate and the raw Go server
# at the same time on the same core (steadier on a shared machine than the
# harness's one-after-the-other rows); PAIRED_FLAGS go to bench/paired.sh
# (e.g. -n 20, -r 1000000 for the big CRL).
bench-paired:
	bench/paired.sh $(PAIRED_FLAGS)

# bench-proxied measures the production workload: nginx, HAProxy and
# certgate proxying to the same plain-HTTP backend (bench/backend), keep-alive
# and full-handshake, in rounds, and writes the table and a history line into
# docs/benchmarks.md. Needs nginx and haproxy; PROXIED_FLAGS go to
# bench/proxied.sh (e.g. -n 5 -d 5s, -P "nginx certgate").
bench-proxied:
	bench/proxied.sh $(PROXIED_FLAGS)

# fuzz runs every fuzz target (func FuzzXxx in any _test.go) for FUZZTIME
# each; CI runs the same script for 3s per target. New crashers land in the
# package's testdata/fuzz/FuzzXxx/ and are replayed by go test from then on.
FUZZTIME ?= 30s
fuzz:
	.ci/fuzz $(FUZZTIME)
