#!/usr/bin/env bash
# Copies deploy/monitoring/prometheusrule.yaml, the single source of the
# alerts, into the Helm chart, which cannot read files outside itself; its
# metrics.prometheusRule renders the copy with the release's names.
# test/unit/monitoring/alerts.test.ts fails while the two differ.
#
#   edit deploy/monitoring/prometheusrule.yaml && scripts/sync-monitoring.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cp "$root/deploy/monitoring/prometheusrule.yaml" "$root/deploy/helm/mcp-admission/files/prometheusrule.yaml"
echo "sync-monitoring.sh: deploy/helm/mcp-admission/files/prometheusrule.yaml"
