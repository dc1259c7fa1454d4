#!/usr/bin/env bash
# Writes package.json's version wherever a file has to spell it out: the
# chart's version and appVersion, the image tag and app.kubernetes.io/version
# in deploy/, and the image tag in the README and the Dockerfile's comment.
# `mcp-admission --version` and mcp_admission_build_info read package.json at
# run time. test/unit/version.test.ts fails while any of them disagree.
#
#   npm version 0.2.0 --no-git-tag-version && scripts/sync-version.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=$(node -p 'require(process.argv[1]).version' "$root/package.json")
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || { echo "sync-version.sh: \"$version\" is not a semantic version" >&2; exit 1; }
image='ghcr.io/mcp-admission/mcp-admission'

sed -i -E "s/^version: .*/version: $version/; s/^appVersion: .*/appVersion: \"$version\"/" "$root/deploy/helm/mcp-admission/Chart.yaml"
while IFS= read -r file; do
  sed -i -E "s#($image):[0-9A-Za-z.+-]+#\\1:$version#g; s#(app.kubernetes.io/version: )\"[^\"]*\"#\\1\"$version\"#g" "$file"
done < <(cd "$root" && grep -rlE "$image:|app.kubernetes.io/version: \"" deploy README.md Dockerfile | sed "s#^#$root/#")
echo "sync-version.sh: $version"
