#!/usr/bin/env bash
# Local clamd for development and tests, offline: Debian's clamav-daemon with ONLY our own signature
# database (one .ndb line for the EICAR test string). freshclam is never run (it cannot download here,
# and tests must not depend on the internet). Production uses the official clamav/clamav image with
# freshclam instead (compose.yaml).
#
#   scripts/local-clamd.sh start    install (if missing), write config + signature, start, wait for PING
#   scripts/local-clamd.sh stop     stop the clamd this script started (recorded PID only)
#   scripts/local-clamd.sh status   exit 0 iff our clamd runs and answers PING on TCP and the socket
#   scripts/local-clamd.sh env      print `export CLAMD_...=...` lines
#
# Detections are reported as "Eicar-Test-Signature.UNOFFICIAL".
#
# Environment:
#   HAUL_LOCAL_DIR  state root (default /tmp/haul-local); clamd keeps config, db/, tmp/, pid, log and
#                   socket in $HAUL_LOCAL_DIR/clamd
#   CLAMD_PORT      TCP port on 127.0.0.1 (default 3310)
#   CLAMD_MAX       StreamMaxLength, MaxFileSize and MaxScanSize (default 2000M, at most 2047M; see
#                   check_max). Data over the limit is never reported clean: over MaxFileSize/MaxScanSize
#                   -> "stream: Heuristics.Limits.Exceeded.MaxFileSize FOUND" (AlertExceedsMax), over
#                   StreamMaxLength -> "INSTREAM size limit exceeded. ERROR".
#   CLAMD_WAIT      seconds to wait for PING (default 60)
#   CLAMD_MAX_SCAN_TIME  MaxScanTime in ms (default 30000): must stay below Haul's CLAMD_TIMEOUT_MS
#                   (default 60000), so clamd gives a verdict (Heuristics.Limits.Exceeded.MaxScanTime,
#                   Haul: rejected) before Haul's socket gives up on a silent clamd (issue 13)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/lib-apt.sh
source "$here/lib-apt.sh"
# shellcheck source=SCRIPTDIR/lib-daemon.sh
source "$here/lib-daemon.sh"

BASE="${HAUL_LOCAL_DIR:-/tmp/haul-local}/clamd"
PORT="${CLAMD_PORT:-3310}"
MAX="${CLAMD_MAX:-2000M}"
WAIT_SECS="${CLAMD_WAIT:-60}"
MAX_SCAN_TIME="${CLAMD_MAX_SCAN_TIME:-30000}"
DB="$BASE/db" CONF="$BASE/clamd.conf" SOCK="$BASE/clamd.sock"
PIDFILE="$BASE/clamd.pid" LOG="$BASE/clamd.log" TMPD="$BASE/tmp"
DAEMON=clamd
# clamdscan is only "Recommended" by clamav-daemon; we use it for the socket PING.
PKGS=(clamav-daemon clamav clamdscan)

log() { echo "[local-clamd] $(date +%T) $*"; }

# PING over TCP with bash's /dev/tcp (no nc needed). z-commands are NUL-terminated. Runs in a
# subshell so fd 3 and the stderr redirect never leak into the script.
ping_tcp() {
  ( exec 3<>"/dev/tcp/127.0.0.1/$PORT" || exit 1
    printf 'zPING\0' >&3
    IFS= read -r -d '' -t 3 reply <&3
    [[ "$reply" == "PONG" ]] ) 2>/dev/null
}
ping_sock() { [[ -S $SOCK ]] && clamdscan --config-file="$CONF" --ping 1 >/dev/null 2>&1; }
# clamd answers PING on TCP and on its socket
answers() { ping_tcp && ping_sock; }

# clamd 1.4 (bookworm) accepts larger values without complaint (StreamMaxLength and MaxScanSize up to
# at least 5G), but silently caps MaxFileSize at 2147483645 bytes ("Technical design limitations prevent
# ClamAV from scanning files greater than 2 GB", clamd.conf(5)). So a CLAMD_MAX of 2G or more would only
# look bigger: files over 2 GiB - 3 are flagged Heuristics.Limits.Exceeded.MaxFileSize anyway. Refuse it.
check_max() {
  local n unit bytes
  [[ $MAX =~ ^([0-9]+)([KkMmGg]?)$ ]] || { echo "CLAMD_MAX=$MAX: expected a number with K, M or G" >&2; exit 2; }
  n=${BASH_REMATCH[1]} unit=${BASH_REMATCH[2],,}
  case $unit in k) bytes=$((n << 10)) ;; m) bytes=$((n << 20)) ;; g) bytes=$((n << 30)) ;; *) bytes=$n ;; esac
  if ((bytes >= 2 ** 31)); then
    echo "CLAMD_MAX=$MAX: clamd scans at most 2147483645 bytes per file (MaxFileSize is capped there); use at most 2047M" >&2
    exit 2
  fi
}

do_status() {
  if ours_alive && answers; then
    echo "clamd running: pid $(cat "$PIDFILE"), tcp 127.0.0.1:$PORT, socket $SOCK"
  else
    echo "clamd (ours, $BASE) not running or not answering"
    return 1
  fi
}

write_config() {
  mkdir -p "$DB" "$TMPD"
  # Our own signature DB: the EICAR test string anywhere in the scanned data, also inside archives
  # (.ndb = extended body signature: Name:TargetType(0 = any):Offset(* = anywhere):HexSignature).
  # Hex of: X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*
  local eicar_hex='58354f2150254041505b345c505a58353428505e2937434329377d2445494341522d5354414e444152442d414e544956495255532d544553542d46494c452124482b482a'
  printf 'Eicar-Test-Signature:0:*:%s\n' "$eicar_hex" > "$DB/haul-test.ndb.tmp"
  mv -f "$DB/haul-test.ndb.tmp" "$DB/haul-test.ndb"

  # No "User" line: clamd runs as the invoking user (it only reads our files and INSTREAM data).
  cat > "$CONF.tmp" <<EOF
# written by haul scripts/local-clamd.sh -- rewritten on every start
DatabaseDirectory $DB
LocalSocket $SOCK
LocalSocketMode 660
FixStaleSocket yes
TCPSocket $PORT
TCPAddr 127.0.0.1
PidFile $PIDFILE
LogFile $LOG
LogTime yes
TemporaryDirectory $TMPD
Foreground no
# no database reloads: nothing updates db/ while clamd runs
SelfCheck 0
# >= the largest upload scanned; see CLAMD_MAX above
StreamMaxLength $MAX
MaxFileSize $MAX
MaxScanSize $MAX
# without this, a file over MaxFileSize/MaxScanSize is reported CLEAN
AlertExceedsMax yes
# Limits that keep one file from taking the scanner down (issue 13). A scan that runs out of time
# or recursion is reported as Heuristics.Limits.Exceeded.* (AlertExceedsMax), which Haul records as
# a definite "rejected", never retried. MaxScanTime stays below CLAMD_TIMEOUT_MS (see above).
MaxScanTime $MAX_SCAN_TIME
MaxRecursion 12
MaxFiles 5000
MaxEmbeddedPE 10M
MaxHTMLNormalize 10M
MaxScriptNormalize 5M
MaxZipTypeRcg 1M
MaxPartitions 50
MaxIconsPE 100
PCREMaxFileSize 25M
EOF
  mv -f "$CONF.tmp" "$CONF"
}

do_start() {
  local t0=$SECONDS
  if ours_alive && answers; then
    log "already running: pid $(cat "$PIDFILE"), tcp 127.0.0.1:$PORT, socket $SOCK"
    return 0
  fi
  check_max
  if ours_alive; then
    log "our clamd (pid $(cat "$PIDFILE")) does not answer: restarting it"
    stop_ours
  fi
  if port_open "$PORT"; then
    echo "127.0.0.1:$PORT is already in use by another program (not started by this script); set CLAMD_PORT" >&2
    exit 1
  fi
  apt_ensure "${PKGS[@]}"
  write_config
  rm -f "$PIDFILE"
  [[ -f $LOG ]] && mv -f "$LOG" "$LOG.prev"
  # Foreground no: clamd loads the DB, then daemonizes (own session) and the daemon writes PidFile.
  if ! clamd --config-file="$CONF" </dev/null >/dev/null 2>"$BASE/clamd.stderr"; then
    echo "clamd failed to start:" >&2
    cat "$BASE/clamd.stderr" >&2
    tail -n 5 "$LOG" >&2 2>/dev/null || true
    exit 1
  fi
  if await_ours "$WAIT_SECS" 20 answers; then
    log "clamd up: pid $(cat "$PIDFILE"), tcp 127.0.0.1:$PORT, socket $SOCK ($((SECONDS - t0))s)"
    return 0
  fi
  echo "clamd did not answer PING within ${WAIT_SECS}s; see $LOG" >&2
  tail -n 20 "$LOG" >&2 || true
  stop_ours >&2
  exit 1
}

do_env() {
  cat <<EOF
export CLAMD_HOST=127.0.0.1
export CLAMD_PORT=$PORT
export CLAMD_SOCKET=$SOCK
EOF
}

case "${1:-}" in
  start) do_start ;;
  stop) stop_ours ;;
  status) do_status ;;
  env) do_env ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
