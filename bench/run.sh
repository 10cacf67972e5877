#!/usr/bin/env bash
# Benchmark imdsguard scan against the tools a responder would otherwise
# use, on the same generated audit log: rg, grep and a jq selection of
# pods/exec events; and on its gzip against decompression alone.
#
#   bench/run.sh            # 1 GiB log in $BENCH_DIR (default /tmp/imdsguard-bench)
#   SIZE=256MiB bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE=${SIZE:-1GiB}
DIR=${BENCH_DIR:-/tmp/imdsguard-bench}
RUNS=${RUNS:-3}
mkdir -p "$DIR"

need=()
command -v rg >/dev/null || need+=(ripgrep)
command -v jq >/dev/null || need+=(jq)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
	echo "installing ${need[*]}" >&2
	apt-get install -y "${need[@]}" >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y "${need[@]}" >/dev/null; }
fi

go build -o "$DIR/imdsguard" ./cmd/imdsguard
go build -o "$DIR/auditgen" ./cmd/auditgen
go build -o "$DIR/gunzip" ./bench/gunzip

LOG=$DIR/audit-$SIZE.log
if [ ! -s "$LOG" ]; then
	"$DIR/auditgen" -seed 1 -size "$SIZE" -o "$LOG"
fi
if [ ! -s "$LOG.gz" ]; then
	"$DIR/auditgen" -seed 1 -size "$SIZE" -gzip -o "$LOG.gz"
fi
BYTES=$(stat -c %s "$LOG")
cat "$LOG" "$LOG.gz" > /dev/null # warm the page cache

# best NAME CMD...: the best wall time and peak RSS of $RUNS runs.
best() {
	local name=$1; shift
	local bt="" bm=""
	for _ in $(seq "$RUNS"); do
		/usr/bin/time -f "%e %M" -o "$DIR/time.out" "$@" > /dev/null 2>"$DIR/stderr.out" || { cat "$DIR/stderr.out" >&2; exit 1; }
		read -r t m < <(tail -1 "$DIR/time.out")
		if [ -z "$bt" ] || awk "BEGIN{exit !($t < $bt)}"; then bt=$t; bm=$m; fi
	done
	echo "$name $bt $bm"
}

results=$DIR/results.txt
: > "$results"
best imdsguard "$DIR/imdsguard" scan -q -o ndjson "$LOG" | tee -a "$results"
best imdsguard-j1 "$DIR/imdsguard" scan -q -o ndjson --jobs 1 "$LOG" | tee -a "$results"
# Output to a file, not /dev/null: grep stops at the first match when it
# sees its output is /dev/null.
best rg sh -c "rg -c -F --no-mmap 'pods/exec' '$LOG' > '$DIR/rg.out' || true" | tee -a "$results"
best grep sh -c "grep -c -F 'pods/exec' '$LOG' > '$DIR/grep.out' || true" | tee -a "$results"
RUNS=1 best jq sh -c "jq -c 'select(.objectRef.subresource == \"exec\")' '$LOG' | wc -l" | tee -a "$results"
best imdsguard-gz "$DIR/imdsguard" scan -q -o ndjson "$LOG.gz" | tee -a "$results"
best gunzip "$DIR/gunzip" "$LOG.gz" | tee -a "$results"

echo
echo "log: $LOG ($BYTES bytes; gzip $(stat -c %s "$LOG.gz") bytes)"
awk -v bytes="$BYTES" '
	{ t[$1] = $2; m[$1] = $3 }
	END {
		printf "%-14s %8s %10s %10s\n", "tool", "seconds", "MB/s", "peak RSS"
		n = split("imdsguard imdsguard-j1 rg grep jq imdsguard-gz gunzip", k, " ")
		for (i = 1; i <= n; i++) if (k[i] in t)
			printf "%-14s %8.2f %10.0f %8.1f MiB\n", k[i], t[k[i]], bytes / t[k[i]] / 1e6, m[k[i]] / 1024
		printf "\nimdsguard / rg -c -F --no-mmap: %.2fx (target >= 0.5)\n", t["rg"] / t["imdsguard"]
		printf "imdsguard / grep -c -F:         %.2fx\n", t["grep"] / t["imdsguard"]
		printf "imdsguard / jq selection:       %.1fx (target >= 30)\n", t["jq"] / t["imdsguard"]
		printf "gzip: imdsguard / gunzip alone: %.2fx (target >= 0.9)\n", t["gunzip"] / t["imdsguard-gz"]
		printf "peak RSS: %.1f MiB (jobs default), %.1f MiB (--jobs 1), %.1f MiB (gzip) (target <= 64)\n", m["imdsguard"]/1024, m["imdsguard-j1"]/1024, m["imdsguard-gz"]/1024
	}' "$results"

echo
echo "strict engine on exec commands alone (shell normalization on):"
go test ./detect -run '^$' -bench 'BenchmarkAnalyze$' -benchtime 2s | awk '/ns\/op/ { printf "  %s: %.0f ns/op = %.0f commands/s per core (target >= 50000)\n", $1, $3, 1e9 / $3 }'
