#!/usr/bin/env bash
# Local HAProxy in front of several Haul instances (README "Several instances"; bench/scale-out.ts):
# Debian's haproxy package, our own config, round-robin per request with no stickiness, so the
# requests of one tus upload (POST, PATCH, PATCH, …, HEAD) land on different instances.
#
#   scripts/local-haproxy.sh start    install (if missing), write the config, start, wait until the port answers
#   scripts/local-haproxy.sh stop     stop the haproxy this script started (recorded PID only)
#   scripts/local-haproxy.sh status   exit 0 iff our haproxy runs and accepts connections on its port
#   scripts/local-haproxy.sh env      print `export HAPROXY_...=...` lines (URL, port, stats socket, log)
#   scripts/local-haproxy.sh install  install Debian's haproxy if missing, start nothing (scripts/test.sh)
#
# Environment:
#   HAUL_LOCAL_DIR    state root (default /tmp/haul-local); config, pid and log in $HAUL_LOCAL_DIR/haproxy
#   HAPROXY_PORT      port to listen on, on HAPROXY_HOST (default 8090)
#   HAPROXY_HOST      address to listen on (default 127.0.0.1)
#   HAPROXY_BACKENDS  the Haul instances, comma-separated host:port (default 127.0.0.1:3000);
#                     named haul1, haul2, … in that order
#   HAPROXY_TIMEOUT   how long a client or an instance may stay silent in the middle of a request
#                     (default 10m: a PATCH that streams slowly, or waits for a slow S3, is not cut)
#   HAPROXY_CHECK     health check path, asked every 2 s (default /healthz; "" = no checks)
#   HAPROXY_CHECK_PORTS  the instances' PROBE_PORTs, comma-separated in HAPROXY_BACKENDS' order: each
#                     check goes there (Haul's probe thread) instead of the port uploads queue on
#   HAPROXY_WAIT      seconds to wait for the port to answer (default 20)
#
# Each response carries `X-Haul-Backend: <server name>`, so a client (the bench) can tell which
# instance answered. Its counters (connections opened and reused, errors, per instance) are on the
# stats socket $HAUL_LOCAL_DIR/haproxy/haproxy.sock (`show stat`); its log has a line with the
# termination state for every request that ended abnormally. A start with other settings than the
# running haproxy's restarts it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/lib-apt.sh
source "$here/lib-apt.sh"
# shellcheck source=SCRIPTDIR/lib-daemon.sh
source "$here/lib-daemon.sh"

BASE="${HAUL_LOCAL_DIR:-/tmp/haul-local}/haproxy"
HOST="${HAPROXY_HOST:-127.0.0.1}"
PORT="${HAPROXY_PORT:-8090}"
BACKENDS="${HAPROXY_BACKENDS:-127.0.0.1:3000}"
TIMEOUT="${HAPROXY_TIMEOUT:-10m}"
CHECK="${HAPROXY_CHECK-/healthz}"
CHECK_PORTS="${HAPROXY_CHECK_PORTS:-}"
WAIT_SECS="${HAPROXY_WAIT:-20}"
CONF="$BASE/haproxy.cfg" PIDFILE="$BASE/haproxy.pid" LOG="$BASE/haproxy.log" STATS="$BASE/haproxy.sock"
DAEMON=haproxy

log() { echo "[local-haproxy] $(date +%T) $*"; }

# something accepts connections on our address (0.0.0.0: asked on 127.0.0.1)
answers() {
  local host=$HOST
  [[ $host == 0.0.0.0 ]] && host=127.0.0.1
  (exec 3<>"/dev/tcp/$host/$PORT") 2>/dev/null
}

ours_and_answers() { ours_alive && answers; }

check_settings() {
  [[ $PORT =~ ^[0-9]+$ ]] || { echo "HAPROXY_PORT=$PORT: expected a port number" >&2; exit 2; }
  [[ $TIMEOUT =~ ^[0-9]+(ms|s|m|h)?$ ]] || { echo "HAPROXY_TIMEOUT=$TIMEOUT: expected e.g. 600s or 10m" >&2; exit 2; }
  local b
  IFS=, read -r -a BACKEND_LIST <<<"$BACKENDS"
  ((${#BACKEND_LIST[@]})) || { echo "HAPROXY_BACKENDS is empty" >&2; exit 2; }
  for b in "${BACKEND_LIST[@]}"; do
    [[ $b =~ ^[A-Za-z0-9._-]+:[0-9]+$ ]] || { echo "HAPROXY_BACKENDS: \"$b\" is not host:port" >&2; exit 2; }
  done
  CHECK_PORT_LIST=()
  if [[ -n $CHECK_PORTS ]]; then
    IFS=, read -r -a CHECK_PORT_LIST <<<"$CHECK_PORTS"
    ((${#CHECK_PORT_LIST[@]} == ${#BACKEND_LIST[@]})) || { echo "HAPROXY_CHECK_PORTS: one port per backend (${#BACKEND_LIST[@]})" >&2; exit 2; }
    for b in "${CHECK_PORT_LIST[@]}"; do
      [[ $b =~ ^[0-9]+$ ]] || { echo "HAPROXY_CHECK_PORTS: \"$b\" is not a port" >&2; exit 2; }
    done
  fi
}

config_text() {
  local i check_line="" server_opts=""
  if [[ -n $CHECK ]]; then
    # A health check is a real request: at most every 2 s, and three misses (30 s of an instance
    # too busy to answer within 10 s) before it is taken out, so a loaded instance is not dropped.
    check_line="    option httpchk GET $CHECK
    http-check expect status 200
    timeout check 10s"
    server_opts=" check inter 2s fall 3 rise 2"
  fi
  cat <<EOF
# written by haul scripts/local-haproxy.sh -- rewritten on every start
global
    # no maxconn: haproxy derives it from the file descriptor limit (ulimit -n)
    log stdout format raw local0
    # 'show stat' (read-only): per instance, connections opened (connect) and reused (reuse), errors
    stats socket $STATS mode 600 level user

defaults
    mode http
    log global
    option httplog
    # log only errors and abnormal ends (a request log line per PATCH would cost more than it tells)
    option dontlog-normal
    # no line for connections that send nothing (the start-up probe of this script)
    option dontlognull
    # Uploads: a client may pause (a phone changing networks) and an instance may take long to
    # answer a PATCH it is writing to a slow S3; these are inactivity timeouts, not request lengths.
    timeout connect 5s
    timeout client $TIMEOUT
    timeout server $TIMEOUT
    # the request line and headers must arrive within 30 s (the body streams under "timeout client")
    timeout http-request 30s
    timeout http-keep-alive 30s
    timeout queue 30s
    # if an instance refuses the connection, try the other one (nothing of the request was sent yet)
    retries 2
    option redispatch
    # Idle connections to the instances are kept and reused for later requests of any client (not
    # for the first request of a client connection), oldest first. HAProxy 2.6 gives them no idle
    # timeout: every pool-purge-delay (a server setting, 5 s by default) it closes half of those
    # beyond its recent need. Haul keeps an idle connection KEEP_ALIVE_TIMEOUT_SECONDS (120 s), far
    # longer, so HAProxy closes it first. An instance that closes one just as a request goes out
    # on it (Node's default keep-alive, 5 s) loses that request: HAProxy closes the client's
    # connection unanswered and logs nothing ("The client is required to retry", src/http_ana.c).
    http-reuse safe

frontend haul_in
    bind $HOST:$PORT
    maxconn 5000
    # With TRUST_PROXY=true the instances build upload URLs from Forwarded / X-Forwarded-Host /
    # X-Forwarded-Proto and audit the first X-Forwarded-For address: set here, whatever the client sent.
    http-request del-header Forwarded
    http-request del-header X-Forwarded-Host
    http-request set-header X-Forwarded-For %[src]
    http-request set-header X-Forwarded-Proto http
    default_backend haul

backend haul
    # Every request on its own: round-robin, no cookie, no stick table, no prefer-last-server, so
    # the PATCHes of one upload hop between instances (they share PostgreSQL, its locks, and S3).
    balance roundrobin
    # request bodies are streamed to the instance as they arrive, never buffered here
$check_line
    http-response set-header X-Haul-Backend %[srv_name]
EOF
  for i in "${!BACKEND_LIST[@]}"; do
    # `check port`: the instance's probe thread answers the check, whatever queues on its PORT
    # (libuv accepts one connection per event-loop turn: behind a burst of uploads a check waits).
    local port_opt=""
    [[ -n $server_opts && ${#CHECK_PORT_LIST[@]} -gt 0 ]] && port_opt=" port ${CHECK_PORT_LIST[$i]}"
    echo "    server haul$((i + 1)) ${BACKEND_LIST[$i]}$server_opts$port_opt"
  done
}

do_status() {
  if ours_alive && answers; then
    echo "haproxy running: pid $(cat "$PIDFILE"), http://$HOST:$PORT -> $(grep -c '^    server ' "$CONF") instance(s)"
  else
    echo "haproxy (ours, $BASE) not running or not answering on port $PORT"
    return 1
  fi
}

do_start() {
  local new
  check_settings
  mkdir -p "$BASE"
  new="$(config_text)"
  if ours_alive && answers; then
    if [[ "$new" == "$(cat "$CONF")" ]]; then
      log "already running: pid $(cat "$PIDFILE"), http://$HOST:$PORT"
      return 0
    fi
    log "settings changed: restarting"
    stop_ours
  elif ours_alive; then
    log "our haproxy (pid $(cat "$PIDFILE")) does not answer: restarting it"
    stop_ours
  fi
  if answers; then
    echo "port $PORT is already in use by another program (not started by this script); set HAPROXY_PORT" >&2
    exit 1
  fi
  apt_ensure haproxy
  printf '%s\n' "$new" > "$CONF.tmp"
  if ! haproxy -c -q -f "$CONF.tmp"; then
    echo "haproxy rejected the config $CONF.tmp" >&2
    exit 1
  fi
  mv -f "$CONF.tmp" "$CONF"
  [[ -f $LOG ]] && mv -f "$LOG" "$LOG.prev"
  rm -f "$PIDFILE"
  # Foreground (-db) in its own session, so its log goes to our file and no signal to our process
  # group reaches it; the wrapper records its own PID and execs haproxy, so the PID file is right.
  # shellcheck disable=SC2016  # $$/$0/$@ are for the inner sh
  setsid sh -c 'echo $$ > "$0"; exec "$@"' "$PIDFILE" haproxy -db -f "$CONF" </dev/null >>"$LOG" 2>&1 &
  if await_ours "$WAIT_SECS" 10 ours_and_answers; then
    log "haproxy up: pid $(cat "$PIDFILE"), http://$HOST:$PORT -> ${BACKEND_LIST[*]}"
    return 0
  fi
  echo "haproxy did not accept connections on port $PORT within ${WAIT_SECS}s; see $LOG" >&2
  stop_ours >&2
  exit 1
}

do_env() {
  cat <<EOF
export HAPROXY_URL=http://$HOST:$PORT
export HAPROXY_PORT=$PORT
export HAPROXY_STATS_SOCKET=$STATS
export HAPROXY_LOG=$LOG
EOF
}

case "${1:-}" in
  start) do_start ;;
  stop) stop_ours ;;
  status) do_status ;;
  env) do_env ;;
  install) apt_ensure haproxy ;;
  *) echo "usage: $0 start|stop|status|env|install" >&2; exit 2 ;;
esac
