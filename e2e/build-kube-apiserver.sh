#!/usr/bin/env bash
# Builds kube-apiserver from the k8s.io/kubernetes Go module (no git clone, no
# Docker) and caches the binary. Prints the binary's path on stdout; progress
# goes to stderr.
#
#   e2e/build-kube-apiserver.sh            # -> $CACHE/bin/kube-apiserver-v1.37.2
#
# How: a throwaway module under the cache dir requires k8s.io/kubernetes and
# maps every staging module (which k8s.io/kubernetes replaces with
# ./staging/src/...) to its published v0.MINOR.PATCH tag, then `go build`s
# k8s.io/kubernetes/cmd/kube-apiserver with CGO_ENABLED=0 -trimpath.
# It uses the normal GOMODCACHE/GOCACHE, so a second build is warm.
# Cold: ~5 min on 2 cores and ~3 GB of GOCACHE; cached: instant.
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-1.37.2}
CACHE=${IMDSGUARD_E2E_CACHE:-$HOME/.cache/imdsguard-e2e}
MINOR=$(echo "$K8S_VERSION" | cut -d. -f2)
PATCH=$(echo "$K8S_VERSION" | cut -d. -f3)
BIN=$CACHE/bin/kube-apiserver-v$K8S_VERSION
MOD=$CACHE/kapibuild-v$K8S_VERSION

log() { echo "build-kube-apiserver: $*" >&2; }

cached_ok() {
	[ -x "$BIN" ] && "$BIN" --version 2>/dev/null | grep -qx "Kubernetes v$K8S_VERSION"
}

mkdir -p "$CACHE/bin"
# One build at a time per cache dir.
exec 9>"$CACHE/.build.lock"
flock 9

if cached_ok; then
	log "cached: $BIN ($("$BIN" --version))"
	echo "$BIN"
	exit 0
fi

export GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false"
start=$(date +%s)
rm -rf "$MOD"
mkdir -p "$MOD"
cd "$MOD"

log "resolving k8s.io/kubernetes@v$K8S_VERSION"
gomod=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
[ -f "$gomod" ] || { log "cannot find go.mod of k8s.io/kubernetes@v$K8S_VERSION"; exit 1; }
gover=$(awk '/^go /{print $2; exit}' "$gomod")
{
	echo "module kapibuild"
	echo
	echo "go $gover"
	echo
	echo "require k8s.io/kubernetes v$K8S_VERSION"
	echo
	echo "replace ("
	# sample-cli-plugin and sample-controller have no published tag; nothing needs them.
	sed -n '/^replace (/,/^)/p' "$gomod" | awk '/=> .\/staging/{print $1}' |
		grep -v -e sample-cli-plugin -e sample-controller |
		while read -r m; do printf '\t%s => %s v0.%s.%s\n' "$m" "$m" "$MINOR" "$PATCH"; done
	echo ")"
} >go.mod
cat >tools.go <<'EOT'
//go:build tools

package kapibuild

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
EOT
log "go mod tidy ($MOD)"
go mod tidy
t1=$(date +%s)
log "module ready in $((t1 - start))s; building kube-apiserver (cold: ~5 min)"

LDF="-X k8s.io/component-base/version.gitVersion=v$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1"
LDF="$LDF -X k8s.io/component-base/version.gitMinor=$MINOR -X k8s.io/component-base/version.gitTreeState=clean"
LDF="$LDF -X k8s.io/client-go/pkg/version.gitVersion=v$K8S_VERSION -X k8s.io/client-go/pkg/version.gitMajor=1"
LDF="$LDF -X k8s.io/client-go/pkg/version.gitMinor=$MINOR"
go build -trimpath -ldflags "$LDF -s -w" -o "$BIN.tmp" k8s.io/kubernetes/cmd/kube-apiserver
mv -f "$BIN.tmp" "$BIN"
cached_ok || { log "built binary does not report v$K8S_VERSION: $("$BIN" --version 2>&1)"; exit 1; }
log "built $BIN in $(($(date +%s) - t1))s (total $(($(date +%s) - start))s)"
echo "$BIN"
