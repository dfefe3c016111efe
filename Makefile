# Developer shortcuts. CI does not use this file (see .ci/).

.PHONY: bench bench-paired bench-proxied

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
