# shellcheck shell=bash
# Sourced by scripts/local-clamd.sh and scripts/local-haproxy.sh (after lib-apt.sh, for pid_is): the
# one daemon such a script runs, known by its PID file and by the config file on its command line, so
# a stop never reaches a daemon someone else started (the shared clamd, a packaged haproxy).
#
# The sourcing script sets, before calling these:
#   DAEMON   the daemon's name in messages (clamd, haproxy)
#   PIDFILE  the PID file (written by the daemon, or by the wrapper that execs it)
#   CONF     its config file
#   LOG      its log file
# and defines `log MESSAGE...` (a line with the script's own prefix).

# ours_alive : the PID in PIDFILE is alive and was started with our config file.
ours_alive() { pid_is "$PIDFILE" "$CONF"; }

# stop_ours : SIGTERM to our daemon, SIGKILL if it is still there 10 s later; the PID file is removed
# either way. (For haproxy SIGTERM is its hard stop: open connections are closed at once, where
# SIGUSR1 would wait for them.)
stop_ours() {
  if ours_alive; then
    local pid i
    pid="$(cat "$PIDFILE")"
    kill -TERM "$pid"
    for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then log "$DAEMON $pid ignored SIGTERM for 10s, sending SIGKILL"; kill -KILL "$pid" || true; fi
    log "stopped $DAEMON (pid $pid)"
  else
    log "$DAEMON (ours) was not running"
  fi
  rm -f "$PIDFILE"
}

# await_ours WAIT_SECS GRACE_POLLS READY_COMMAND... : runs READY_COMMAND every 0.1 s until it succeeds
# (returns 0) or WAIT_SECS have passed (returns 1: the caller says what did not answer). Once
# GRACE_POLLS polls have gone by (the time the daemon needs to write its PID file), a PID file that is
# not ours_alive means the daemon exited during startup: says so with the tail of LOG and exits 1.
await_ours() {
  local wait_secs=$1 grace_polls=$2 i
  shift 2
  for ((i = 0; i < wait_secs * 10; i++)); do
    if "$@"; then return 0; fi
    if ((i > grace_polls)) && ! ours_alive; then
      echo "$DAEMON exited during startup; see $LOG" >&2
      tail -n 20 "$LOG" >&2 || true
      exit 1
    fi
    sleep 0.1
  done
  return 1
}
