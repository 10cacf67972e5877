#!/usr/bin/env bash
# Benchmark imdsguard serve on loopback with bench/serveload: 400-event
# webhook batches of auditgen events (realistic traffic, about 1 request in
# 1,000 a kubectl exec, a fifth of the sessions reaching a metadata
# service, so alerts are stored), HTTPS with a bearer token, the alert store
# on a real disk file (WAL, synchronous=FULL: durable).
#
#   bench/serve.sh                   # every scenario, 20 s each
#   DURATION=10s bench/serve.sh      # quicker
#   SCENARIOS="sustained latency" bench/serve.sh
#
# Scenarios (SCENARIOS, default all):
#   sustained    closed loop, CLIENTS clients: the rate it sustains
#   latency      open loop at RATE events/s (40,000): p99 from when each
#                batch was due, so a stall that delays later sends counts
#   overload     OVERLOAD_CLIENTS clients (64) posting OVERLOAD_BATCH-event
#                batches (10,000, about 10 MB): 503s and the peak RSS
#   overload-x4  the same with four times the clients: does memory grow?
#   insecure     sustained over plain HTTP (serve --insecure): TLS's share
#
# The store and the logs stay in $BENCH_DIR (default /tmp/imdsguard-serve-bench),
# on the file system the script names; the binaries go to a temporary
# directory that is removed on exit, and the servers are stopped.
set -euo pipefail
cd "$(dirname "$0")/.."

DIR=${BENCH_DIR:-/tmp/imdsguard-serve-bench}
DURATION=${DURATION:-20s}
WARMUP=${WARMUP:-3s}
CLIENTS=${CLIENTS:-8}
RATE=${RATE:-40000}
OVERLOAD_CLIENTS=${OVERLOAD_CLIENTS:-64}
OVERLOAD_BATCH=${OVERLOAD_BATCH:-10000}
MAX_IN_FLIGHT=${MAX_IN_FLIGHT:-8}
PORT=${PORT:-18443}
SCENARIOS=${SCENARIOS:-sustained latency overload overload-x4 insecure}

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
BIN=$(mktemp -d)
SERVER_PID=""

stop_server() {
	if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill -TERM "$SERVER_PID" 2>/dev/null || true
		for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	SERVER_PID=""
}
cleanup() {
	stop_server
	rm -rf "$BIN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

go build -o "$BIN/imdsguard" ./cmd/imdsguard
go build -o "$BIN/serveload" ./bench/serveload

fstype=$(df -PT "$DIR" | awk 'NR==2 {print $2}')
echo "store directory: $DIR ($fstype on $(df -PT "$DIR" | awk 'NR==2 {print $1}'))"
case $fstype in
tmpfs | ramfs) echo "warning: $DIR is in memory: fsync costs nothing and the store is not durable; set BENCH_DIR to a disk" >&2 ;;
esac
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(go version | awk '{print $3}'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
git_state=$(git describe --always --dirty 2>/dev/null || echo unknown)
echo "imdsguard: $git_state"

# A self-signed certificate and a token.
if command -v openssl >/dev/null; then
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
		-subj /CN=localhost -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
		-keyout "$BIN/tls.key" -out "$BIN/tls.crt" 2>/dev/null
else
	"$BIN/serveload" -gen-cert "$BIN"
fi
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$BIN/token"

# start_server NAME ARGS...: a server on a fresh store, DIR/NAME.db; waits
# for /healthz.
start_server() {
	local name=$1; shift
	rm -f "$DIR/$name.db" "$DIR/$name.db-wal" "$DIR/$name.db-shm"
	"$BIN/imdsguard" serve --listen "127.0.0.1:$PORT" --store "$DIR/$name.db" \
		--max-in-flight "$MAX_IN_FLIGHT" "$@" 2> "$DIR/$name.log" &
	SERVER_PID=$!
	local scheme=https
	case " $* " in *" --insecure "*) scheme=http ;; esac
	for _ in $(seq 100); do
		if curl -fsS --cacert "$BIN/tls.crt" "$scheme://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$SERVER_PID" 2>/dev/null || { cat "$DIR/$name.log" >&2; echo "imdsguard serve exited" >&2; exit 1; }
		sleep 0.1
	done
	echo "imdsguard serve did not answer /healthz" >&2
	exit 1
}

# load LABEL ARGS...: runs serveload against the running server; the
# scenario's peak RSS is its own (VmHWM reset at its start).
results=()
load() {
	local label=$1; shift
	echo
	"$BIN/serveload" -label "$label" -pid "$SERVER_PID" -reset-hwm -d "$DURATION" -warmup "$WARMUP" \
		-json "$DIR/$label.json" "$@"
	results+=("$DIR/$label.json")
}

want() { case " $SCENARIOS " in *" $1 "*) return 0 ;; esac; return 1; }

TLS=(-url "https://127.0.0.1:$PORT/audit/v1" -cacert "$BIN/tls.crt" -token-file "$BIN/token")
if want sustained || want latency || want overload || want overload-x4; then
	start_server alerts --tls-cert "$BIN/tls.crt" --tls-key "$BIN/tls.key" --token-file "$BIN/token"
	want sustained && load sustained "${TLS[@]}" -mode closed -c "$CLIENTS"
	want latency && load latency "${TLS[@]}" -mode open -rate "$RATE"
	# Overload: the client pauses 100 ms after a 503 (the API server
	# backs off far longer); bodies are read only once a slot is free.
	want overload && load overload "${TLS[@]}" -mode overload -c "$OVERLOAD_CLIENTS" \
		-batch "$OVERLOAD_BATCH" -batches 16 -backoff 100ms
	want overload-x4 && load overload-x4 "${TLS[@]}" -mode overload -c $((OVERLOAD_CLIENTS * 4)) \
		-batch "$OVERLOAD_BATCH" -batches 16 -backoff 100ms
	stop_server
	echo
	echo "alerts stored by the TLS server: $("$BIN/imdsguard" alerts list --store "$DIR/alerts.db" -o ndjson | wc -l)"
fi
if want insecure; then
	start_server insecure --insecure
	load insecure -url "http://127.0.0.1:$PORT/audit/v1" -mode closed -c "$CLIENTS"
	stop_server
fi

echo
"$BIN/serveload" -table "${results[@]}"
