#!/usr/bin/env bash
# The whole test suite, with all set-up a fresh machine needs (the README's test command runs this).
# - builds the TypeScript projects and the demo app (type-check first, as the tests run the built
#   server and drive the built demo in a real browser);
# - installs Debian's Chromium for the browser tests if missing (scripts/local-chromium.sh), and
#   the media decoders (ffmpeg, poppler, libheif tools: scripts/local-media-tools.sh) and HAProxy
#   (scripts/local-haproxy.sh install; the reverse-proxy test starts its own);
# - makes sure PostgreSQL answers (TEST_DATABASE_URL, default the local server);
# - starts the local services the integration tests use (S3 via OpenStack Swift, clamd), each
#   through its project script, and stops what it started when the run ends.
# HAUL_TEST_NODE=<major> (e.g. 24) runs all of it — build, tests, the servers they start — on that
# Node major, installed from the npm registry by scripts/local-node.sh; unset: the machine's Node.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "[test] $(date +%T) $*"; }

if [[ -n "${HAUL_TEST_NODE:-}" ]]; then
  PATH="$(bash scripts/local-node.sh ensure "$HAUL_TEST_NODE"):$PATH"
  export PATH
fi
log "Node $(node --version)"

log "type-check and build (server, SDK, demo app), type-check the tests"
npm run build --silent
npx tsc --noEmit -p tests/tsconfig.json

if [[ "${HAUL_TEST_SKIP_BROWSER:-}" != 1 ]]; then
  log "browser for the demo tests"
  TEST_CHROMIUM_PATH="$(bash scripts/local-chromium.sh ensure)"
  export TEST_CHROMIUM_PATH
fi

log "media decoders"
bash scripts/local-media-tools.sh ensure

log "haproxy (tests/reverse-proxy.test.ts starts its own)"
bash scripts/local-haproxy.sh install

export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
if command -v pg_isready >/dev/null && ! pg_isready -q -d "$TEST_DATABASE_URL"; then
  echo "PostgreSQL does not answer at $TEST_DATABASE_URL (set TEST_DATABASE_URL)" >&2
  exit 1
fi

started=()
cleanup() {
  for s in "${started[@]}"; do bash "scripts/$s" stop || true; done
}
trap cleanup EXIT

if [[ "${HAUL_TEST_SKIP_S3:-}" != 1 && -x scripts/local-s3.sh ]]; then
  s3_status=0
  bash scripts/local-s3.sh status >/dev/null 2>&1 || s3_status=$?
  if ((s3_status != 0)); then
    log "starting local S3 (OpenStack Swift)"
    bash scripts/local-s3.sh start
    # 3: a running S3 (maybe shared) lacked only its encrypted proxy, which start added: stop none of it after.
    ((s3_status == 3)) || started+=(local-s3.sh)
  fi
  eval "$(bash scripts/local-s3.sh env | sed 's/^export /export TEST_/')"
fi

if [[ "${HAUL_TEST_SKIP_CLAMD:-}" != 1 && -x scripts/local-clamd.sh ]]; then
  if ! bash scripts/local-clamd.sh status >/dev/null 2>&1; then
    log "starting local clamd (test signature)"
    bash scripts/local-clamd.sh start
    started+=(local-clamd.sh)
  fi
  export TEST_CLAMD_HOST=127.0.0.1 TEST_CLAMD_PORT="${CLAMD_PORT:-3310}"
fi

log "vitest"
results="$(mktemp)"
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@" || status=$?
# One plain summary line that any CI reads, whatever the runner prints.
node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed`);' "$results" || true
rm -f "$results"
exit "$status"
