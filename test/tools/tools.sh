# Sourced by build.sh and generate-go-mod.sh after versions.env: where each
# tool comes from. Sets tool_module, tool_module_version, tool_package (empty
# when the module is taken as files, not built) and tool_version (the cache key).
# shellcheck shell=bash

tool_coordinates() { # tool
  tool_package=
  case $1 in
    helm)
      tool_module="helm.sh/helm/${HELM_VERSION%%.*}"
      tool_module_version=$HELM_VERSION
      tool_version=$HELM_VERSION
      tool_package="$tool_module/cmd/helm"
      ;;
    promtool)
      # v3.16.0 -> v0.316.0 (see versions.env).
      local major minor patch
      IFS=. read -r major minor patch <<<"${PROMETHEUS_VERSION#v}"
      tool_module=github.com/prometheus/prometheus
      tool_module_version=$(printf 'v0.%d%02d.%d' "$major" "$minor" "$patch")
      tool_version=$PROMETHEUS_VERSION
      tool_package="$tool_module/cmd/promtool"
      ;;
    traefik)
      tool_module=github.com/traefik/traefik/v3
      tool_module_version=$TRAEFIK_VERSION
      tool_version=$TRAEFIK_VERSION
      tool_package="$tool_module/cmd/traefik"
      ;;
    gateway-api)
      tool_module=sigs.k8s.io/gateway-api
      tool_module_version=$GATEWAY_API_VERSION
      tool_version=$GATEWAY_API_VERSION
      ;;
    cert-manager)
      tool_module=github.com/cert-manager/cert-manager
      tool_module_version=$CERT_MANAGER_VERSION
      tool_version=$CERT_MANAGER_VERSION
      ;;
    *)
      echo "unknown tool '$1': known are mcp-peer, helm, promtool, traefik, gateway-api, cert-manager" >&2
      return 2
      ;;
  esac
}
