#!/usr/bin/env bash
# Creates the Python virtual environment that holds the official MCP Python SDK
# (`mcp` from PyPI), used by test/integration as a real peer server. The venv lives
# outside the repository so `git status` stays clean and reruns are cheap:
#   ${MCP_ADMISSION_CACHE:-$HOME/.cache/mcp-admission}/python-venv
# Idempotent: a stamp file records the pinned version; when it matches, the
# script returns at once.
set -euo pipefail

MCP_VERSION="2.3.0"
CACHE_DIR="${MCP_ADMISSION_CACHE:-$HOME/.cache/mcp-admission}"
VENV="$CACHE_DIR/python-venv"
STAMP="$VENV/.mcp-admission-stamp"
WANT="mcp==$MCP_VERSION"

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" && -x "$VENV/bin/python" ]]; then
  echo "python peer venv ready: $VENV ($WANT)"
  exit 0
fi

PYTHON="${PYTHON:-python3}"
if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "setup-python.sh: $PYTHON not found; install Python 3.10 or newer" >&2
  exit 1
fi

mkdir -p "$CACHE_DIR"
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$WANT"
"$VENV/bin/python" -c "from mcp.server.mcpserver import MCPServer"
echo "$WANT" > "$STAMP"
echo "python peer venv ready: $VENV ($WANT)"
