# Developer shortcuts. CI does not use this file (see .ci/).

.PHONY: bench bench-paired

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
