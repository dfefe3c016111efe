# Shared by bench/run.sh and bench/paired.sh (sourced, not run).

# bench_need TOOL...: exit 2 naming the first tool missing from PATH.
bench_need() {
	local tool
	for tool in "$@"; do
		command -v "$tool" >/dev/null || { echo "bench: $tool not found on PATH" >&2; exit 2; }
	done
}

# bench_build REPO HARNESS OUT: builds the harness's commands into
# OUT/harness/bin and certgate into OUT/certgate. The harness builds into
# its own bin/, so it is copied first: ../shared/bench is never written to.
bench_build() {
	local repo=$1 harness=$2 out=$3
	[ -d "$harness/cmd" ] || { echo "bench: no harness at $harness (set HARNESS)" >&2; exit 2; }
	rm -rf "$out/harness"
	cp -r "$harness" "$out/harness"
	chmod -R u+w "$out/harness"
	(cd "$out/harness" && mkdir -p bin && go build -o bin/ ./cmd/...)
	(cd "$repo" && go build -o "$out/certgate" ./cmd/certgate)
}

# bench_pki BIN DIR REVOKED: makes sure DIR holds a harness PKI with
# REVOKED entries in its CRL, reusing one whose certificates and CRLs stay
# valid for another day (the 1M-entry one takes ~5 s and 35 MB).
bench_pki() {
	local bin=$1 dir=$2 revoked=$3
	if ! python3 -c 'import json,sys,datetime as dt; na=dt.datetime.fromisoformat(json.load(open(sys.argv[1]))["not_after"].replace("Z","+00:00")); sys.exit(na < dt.datetime.now(dt.timezone.utc)+dt.timedelta(days=1))' "$dir/pki.json" 2>/dev/null; then
		rm -rf "$dir"
		"$bin/pki" -out "$dir" -revoked "$revoked"
	fi
}
