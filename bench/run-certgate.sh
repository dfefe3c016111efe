#!/usr/bin/env bash
# Starts certgate as a row of ../shared/bench/run.sh:
#
#   run.sh -p $PKI -X 'certgate=28460=/path/to/bench/run-certgate.sh'
#
# run.sh sets PKI (the harness PKI directory) and ADDR (127.0.0.1:PORT) and
# measures the CPU of the PID it started, so this script writes the config
# and then execs certgate in its place.
#
# Env: PKI, ADDR, PORT (from run.sh); CERTGATE (the binary, default
# certgate on PATH); CERTGATE_WORK (scratch dir for the config and the W3C
# log, default a new dir under /tmp); UPSTREAM (default echo, the built-in
# upstream; bench/proxied.sh sets http://127.0.0.1:PORT).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
: "${PKI:?PKI (harness PKI dir) not set}"
: "${ADDR:?ADDR (listen address) not set}"
PORT=${PORT:-${ADDR##*:}}
CERTGATE=${CERTGATE:-certgate}
UPSTREAM=${UPSTREAM:-echo}
WORK=${CERTGATE_WORK:-$(mktemp -d /tmp/certgate-bench.XXXXXX)}
mkdir -p "$WORK/w3c"

# The admin listener (metrics) goes 1000 ports above the HTTPS port.
ADMIN="127.0.0.1:$((PORT + 1000))"
sed -e "s|@PKI@|$PKI|g" -e "s|@ADDR@|$ADDR|g" -e "s|@ADMIN@|$ADMIN|g" -e "s|@WORK@|$WORK|g" -e "s|@UPSTREAM@|$UPSTREAM|g" \
	"$HERE/certgate.yaml.tmpl" >"$WORK/certgate.yaml"
exec "$CERTGATE" serve -c "$WORK/certgate.yaml"
