#!/usr/bin/env bash
# Runs ../shared/bench (nginx, HAProxy, raw Go, certgate side by side on
# loopback, server pinned to one core) with a 1-entry and a 1,000,001-entry
# CRL, and writes the tables into docs/benchmarks.md with the date and the
# machine. `make bench` runs this. Needs nginx and haproxy on PATH
# (Debian: apt-get install nginx haproxy); not run by CI.
#
# Usage: bench/run.sh [-d DUR] [-n RUNS] [-P PEERS] [-o OUTDIR] [-k PKIDIR] [-D]
#   -d DUR    measured duration per test (default 5s)
#   -n RUNS   runs per CRL size (default 2: the host is noisy, look at both)
#   -P PEERS  built-in peers (default: all of run.sh's)
#   -o DIR    results (default /tmp/certgate-bench.<date>)
#   -k DIR    PKIs, generated once and reused (default /tmp/certgate-benchpki;
#             the 1M-entry one takes ~5 s and 35 MB)
#   -D        do not touch docs/benchmarks.md (print the tables only)
# Env: HARNESS (default <repo>/../shared/bench), PORT (certgate, default 28460)
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
HARNESS=${HARNESS:-$REPO/../shared/bench}
DUR=5s RUNS=2 PEERS="" OUT="" PKIS=/tmp/certgate-benchpki WRITE_DOC=1
while getopts "d:n:P:o:k:Dh" opt; do
	case $opt in
	d) DUR=$OPTARG ;;
	n) RUNS=$OPTARG ;;
	P) PEERS=$OPTARG ;;
	o) OUT=$OPTARG ;;
	k) PKIS=$OPTARG ;;
	D) WRITE_DOC=0 ;;
	*) sed -n '2,17p' "$0"; exit 2 ;;
	esac
done
PORT=${PORT:-28460}
[ -n "$OUT" ] || OUT=/tmp/certgate-bench.$(date -u +%Y%m%dT%H%M%S)
mkdir -p "$OUT" "$PKIS"
OUT=$(cd "$OUT" && pwd)

. "$REPO/bench/lib.sh"
bench_need go python3 nginx haproxy taskset
[ -x "$HARNESS/run.sh" ] || { echo "bench: no harness at $HARNESS (set HARNESS)" >&2; exit 2; }
bench_build "$REPO" "$HARNESS" "$OUT"
for n in 0 1000000; do
	bench_pki "$OUT/harness/bin" "$PKIS/r$n" "$n"
done

# The machine, for the report: the numbers mean little without it.
python3 - "$OUT/machine.json" "$DUR" "$RUNS" <<'EOF2'
import json, os, platform, re, subprocess, sys, datetime
def out(*cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return (r.stdout + r.stderr).strip().splitlines()[0]
    except Exception as e:
        return "?"
model = "?"
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        model = line.split(":", 1)[1].strip(); break
json.dump({
    "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    "nproc": os.cpu_count(), "cpu": model, "kernel": platform.release(),
    "go": out("go", "version"), "nginx": out("nginx", "-v"), "haproxy": out("haproxy", "-v"),
    "loadavg": open("/proc/loadavg").read().split()[:3], "duration": sys.argv[2], "runs": int(sys.argv[3]),
}, open(sys.argv[1], "w"), indent=1)
EOF2

for n in 0 1000000; do
	for run in $(seq 1 "$RUNS"); do
		o="$OUT/r$n-run$run"
		echo "== CRL with $((n + 1)) entries, run $run -> $o"
		args=(-p "$PKIS/r$n" -d "$DUR" -o "$o" -X "certgate=$PORT=env CERTGATE=$OUT/certgate CERTGATE_WORK=$o/certgate-work $REPO/bench/run-certgate.sh")
		[ -n "$PEERS" ] && args+=(-P "$PEERS")
		"$OUT/harness/run.sh" "${args[@]}" | tail -n +4
	done
done

if [ "$WRITE_DOC" = 1 ]; then
	python3 "$REPO/bench/report.py" "$OUT" "$REPO/docs/benchmarks.md"
	echo "bench: tables written to docs/benchmarks.md (raw results in $OUT)"
else
	python3 "$REPO/bench/report.py" "$OUT"
fi
