# Developer shortcuts. CI does not use this file (see .ci/).

.PHONY: bench

# bench runs ../shared/bench (nginx, HAProxy, raw Go and certgate side by side) with a
# 1-entry and a 1,000,001-entry CRL and writes the tables into docs/benchmarks.md.
# Needs nginx and haproxy; BENCH_FLAGS is passed to bench/run.sh (e.g. -d 10s -n 3).
bench:
	bench/run.sh $(BENCH_FLAGS)
