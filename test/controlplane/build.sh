#!/usr/bin/env bash
# Builds the pinned control plane (etcd, kube-apiserver, kubectl) into a cache
# outside the repository, keyed by version, and prints the directory holding
# the binaries. A warm cache costs one stat per binary; Go keeps its own module
# and build caches, so a rebuild after a bump reuses everything unchanged.
#
#   MCP_ADMISSION_CACHE  cache root (default: $XDG_CACHE_HOME or ~/.cache, /mcp-admission)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"

if ! command -v go >/dev/null 2>&1; then
  echo "build.sh: the end-to-end suite builds kube-apiserver, kubectl and etcd from source and needs Go >= 1.26 on PATH (https://go.dev/doc/install, or the distribution's golang package)." >&2
  exit 3
fi

cache_root=${MCP_ADMISSION_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mcp-admission}
bin_dir="$cache_root/controlplane/kubernetes-${KUBERNETES_VERSION}_etcd-${ETCD_VERSION}"
mkdir -p "$bin_dir"

export CGO_ENABLED=0
k8s_minor=${KUBERNETES_VERSION#v1.}; k8s_minor=${k8s_minor%%.*}
k8s_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  # Without these, /version and `kubectl version` report v0.0.0-master.
  k8s_ldflags+=" -X ${pkg}.gitVersion=${KUBERNETES_VERSION} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${k8s_minor}"
  k8s_ldflags+=" -X ${pkg}.gitTreeState=clean -X ${pkg}.buildDate=1970-01-01T00:00:00Z"
done

build() { # name, module dir, package, ldflags
  local name=$1 dir=$2 pkg=$3 ldflags=$4
  [ -x "$bin_dir/$name" ] && return 0
  local started=$SECONDS
  echo "build.sh: building $name (cold builds take minutes; later runs reuse $bin_dir)" >&2
  (cd "$dir" && go build -trimpath -ldflags "$ldflags" -o "$bin_dir/$name.tmp" "$pkg")
  mv "$bin_dir/$name.tmp" "$bin_dir/$name"
  echo "build.sh: built $name in $((SECONDS - started))s" >&2
}

build etcd "$here/etcd" . "-s -w"
build kube-apiserver "$here/kube" k8s.io/kubernetes/cmd/kube-apiserver "$k8s_ldflags"
build kubectl "$here/kube" k8s.io/kubernetes/cmd/kubectl "$k8s_ldflags"
echo "$bin_dir"
