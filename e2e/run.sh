#!/usr/bin/env bash
# End-to-end test: a real kube-apiserver (on a real etcd) sends its audit
# webhook to a real `imdsguard serve`; the Go test in e2e/ execs into a pod
# as kubectl does and checks the stored alerts against the audit log.
#
#   e2e/run.sh            # from anywhere; CI runs it from the repo root
#
# Installs etcd-server with apt-get if etcd is missing, builds kube-apiserver
# once into ${IMDSGUARD_E2E_CACHE:-$HOME/.cache/imdsguard-e2e} (cold ~5 min),
# builds imdsguard from this checkout, then runs `go test` in e2e/.
# Extra arguments are passed to go test (e.g. -run 'TestAuditWebhook/mtls').
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
export IMDSGUARD_E2E_CACHE=${IMDSGUARD_E2E_CACHE:-$HOME/.cache/imdsguard-e2e}

T0=$(date +%s)
LAST=$T0
lap() { # lap NAME: prints the time since the previous lap
	local now
	now=$(date +%s)
	echo "e2e: $1 took $((now - LAST))s (total $((now - T0))s)"
	LAST=$now
}

# 1. etcd (Debian's etcd-server; 3.4 is enough for kube-apiserver v1.37).
if ! command -v etcd >/dev/null 2>&1; then
	echo "e2e: etcd not found; installing etcd-server with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends etcd-server >/dev/null
fi
ETCD=$(command -v etcd)
echo "e2e: $("$ETCD" --version | head -1) at $ETCD"
lap "etcd"

# 2. kube-apiserver, built from the k8s.io/kubernetes module and cached.
KUBE_APISERVER=$(e2e/build-kube-apiserver.sh)
lap "kube-apiserver ($KUBE_APISERVER)"

# 3. imdsguard from this checkout.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/imdsguard-e2e.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
go build -o "$WORK/imdsguard" ./cmd/imdsguard
lap "go build imdsguard"

# 4. The test (its own module: e2e/go.mod).
cd e2e
set +e
IMDSGUARD_E2E=1 \
	IMDSGUARD_E2E_IMDSGUARD="$WORK/imdsguard" \
	IMDSGUARD_E2E_KUBE_APISERVER="$KUBE_APISERVER" \
	IMDSGUARD_E2E_ETCD="$ETCD" \
	IMDSGUARD_E2E_REPO="$REPO" \
	go test -count=1 -v -timeout 15m "$@" ./...
rc=$?
set -e
lap "go test in e2e/"
echo "e2e: $([ $rc = 0 ] && echo passed || echo FAILED) in $(($(date +%s) - T0))s"
exit $rc
