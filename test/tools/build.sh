#!/usr/bin/env bash
# Builds the tools tests use from Go modules, each into a cache outside the
# repository keyed by its version, and prints one path per tool asked for, in
# order (the binary, or for gateway-api and cert-manager the CRD file):
#
#   test/tools/build.sh [mcp-peer|helm|promtool|traefik|gateway-api|cert-manager ...]   (default: all)
#
# Versions: versions.env (and mcp-peer/go.mod for the Go MCP peer). A warm cache
# costs one stat per tool; a cold build takes a lock per tool, so a second caller
# (a test, while CI builds in the background) waits for the first instead of
# building again. Go keeps its own module and build caches, so a rebuild after a
# bump reuses everything unchanged.
#
#   MCP_ADMISSION_CACHE  cache root (default: $XDG_CACHE_HOME or ~/.cache, /mcp-admission)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"
# shellcheck source=tools.sh
. "$here/tools.sh"

all_tools=(mcp-peer helm promtool traefik gateway-api cert-manager)
[ $# -gt 0 ] || set -- "${all_tools[@]}"
cache_root=${MCP_ADMISSION_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mcp-admission}

# where TOOL: sets dir (the cache directory) and file (what build.sh prints).
where() {
  case $1 in
    mcp-peer)
      # Our own source: the key is a hash of everything the build reads.
      local hash
      hash=$(cat "$here/mcp-peer/go.mod" "$here/mcp-peer/go.sum" "$here/mcp-peer/"*.go | sha256sum)
      dir="$cache_root/mcp-peer-${hash:0:12}"
      file="$dir/mcp-peer"
      ;;
    gateway-api)
      tool_coordinates "$1"
      dir="$cache_root/gateway-api-$tool_version"
      file="$dir/standard-install.yaml"
      ;;
    cert-manager)
      tool_coordinates "$1"
      dir="$cache_root/cert-manager-$tool_version"
      file="$dir/crds.yaml"
      ;;
    *)
      tool_coordinates "$1"
      dir="$cache_root/$1-$tool_version"
      file="$dir/$1"
      ;;
  esac
}

require_go() {
  if ! command -v go >/dev/null 2>&1; then
    echo "test/tools/build.sh: building $1 needs Go >= 1.26 on PATH (https://go.dev/doc/install, or the distribution's golang package)." >&2
    exit 3
  fi
}

# YAML files as one stream, each its own document: upstream files may or may
# not start with `---` or end with a newline, and without a separator two
# files would run into one document (kubectl then sees only the last).
concat_yaml() { # file...
  local f
  for f in "$@"; do
    echo "---"
    cat "$f"
    [ -z "$(tail -c 1 "$f")" ] || echo
  done
}

go_build() { # tool, module dir, package, ldflags[, build tags]
  (cd "$2" && CGO_ENABLED=0 nice -n 10 go build -trimpath -tags "${5:-}" -ldflags "$4" -o "$file.tmp" "$3")
  mv "$file.tmp" "$file"
}

build() { # tool
  local tool=$1
  case $tool in
    mcp-peer)
      go_build "$tool" "$here/mcp-peer" . "-s -w"
      ;;
    helm)
      pinned "$tool"
      go_build "$tool" "$here/helm" "$tool_package" \
        "-s -w -X $tool_module/internal/version.version=$tool_version -X $tool_module/internal/version.gitTreeState=clean"
      ;;
    promtool)
      pinned "$tool"
      local v=github.com/prometheus/common/version
      # remove_all_sd leaves out every service discovery plugin (Prometheus'
      # plugins/*.go build tags): `promtool test rules` and `check metrics`
      # need none, and the cloud SDKs they pull are most of a cold build.
      go_build "$tool" "$here/promtool" "$tool_package" \
        "-s -w -X $v.Version=${tool_version#v} -X $v.Branch=release -X $v.BuildDate=19700101-00:00:00" \
        remove_all_sd
      ;;
    traefik)
      pinned "$tool"
      local v=$tool_module/pkg/version
      go_build "$tool" "$here/traefik" "$tool_package" \
        "-s -w -X $v.Version=$tool_version -X $v.BuildDate=1970-01-01T00:00:00Z"
      ;;
    gateway-api)
      pinned "$tool"
      # A release's {standard,experimental}-install.yaml are these CRDs,
      # concatenated. Experimental (HTTPRoute sessionPersistence, TCPRoute...)
      # lands beside the standard file; build.sh prints the standard one.
      local module_dir channel
      module_dir=$(cd "$here/gateway-api" && go mod download -json "$tool_module" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
      for channel in experimental standard; do
        local crds=("$module_dir/config/crd/$channel"/gateway.networking.*.yaml) # not kustomization.yaml
        [ -f "${crds[0]}" ] || { echo "test/tools/build.sh: no CRDs in $module_dir/config/crd/$channel" >&2; exit 1; }
        concat_yaml "${crds[@]}" > "$dir/$channel-install.yaml.tmp"
        mv "$dir/$channel-install.yaml.tmp" "$dir/$channel-install.yaml"
      done
      ;;
    cert-manager)
      pinned "$tool"
      # The release's CRDs, as its manifests ship them, concatenated.
      local module_dir
      module_dir=$(cd "$here/cert-manager" && go mod download -json "$tool_module" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
      local crds=("$module_dir/deploy/crds"/*.yaml)
      [ -f "${crds[0]}" ] || { echo "test/tools/build.sh: no CRDs in $module_dir/deploy/crds" >&2; exit 1; }
      concat_yaml "${crds[@]}" > "$file.tmp"
      mv "$file.tmp" "$file"
      ;;
  esac
}

# The tool's go.mod must be generated for the version in versions.env.
pinned() {
  if ! grep -q "^// Generated by generate-go-mod.sh from $tool_module $tool_module_version;" "$here/$1/go.mod" 2>/dev/null; then
    echo "test/tools/build.sh: test/tools/$1/go.mod is not for $tool_module $tool_module_version (versions.env); run test/tools/generate-go-mod.sh $1" >&2
    exit 1
  fi
}

for tool in "$@"; do
  where "$tool"
  if [ ! -e "$file" ]; then
    require_go "$tool"
    mkdir -p "$dir"
    exec 9>"$dir/.lock"
    flock 9
    if [ ! -e "$file" ]; then
      started=$SECONDS
      echo "test/tools/build.sh: building $tool into $dir (cold builds take minutes; later runs reuse it)" >&2
      build "$tool"
      echo "test/tools/build.sh: built $tool in $((SECONDS - started))s, $(du -sh "$file" | cut -f1)" >&2
    fi
    exec 9>&-
  fi
  echo "$file"
done
