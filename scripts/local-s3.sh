#!/usr/bin/env bash
# Local S3 for development and tests: single-node OpenStack Swift (Debian bookworm packages, 2.30.x)
# with its s3api middleware and tempauth. No Docker needed; only Debian's apt.
#
#   scripts/local-s3.sh start    install (if missing), configure, start, create the bucket, wait until S3 answers
#   scripts/local-s3.sh stop     stop the daemons this script started (recorded PIDs only)
#   scripts/local-s3.sh status   exit 0 iff all our daemons run and S3 answers with the bucket present
#                                (3: all but the encrypted proxy; `start` then starts only that one)
#   scripts/local-s3.sh env      print `export S3_...=...` lines for the server / tests
#   scripts/local-s3.sh check    PUT, GET, DELETE a small object through S3 (smoke test)
#
# Endpoint http://127.0.0.1:$S3_LOCAL_PORT, path-style, region us-east-1,
# access key "test:tester", secret "testing". A second proxy on the same backends adds Swift's
# at-rest encryption (scripts/lib-s3-encrypted-proxy.sh: S3_LOCAL_ENCRYPTED_PORT, default 8081).
#
# Environment:
#   HAUL_LOCAL_DIR     state root (default /tmp/haul-local); Swift keeps everything under $HAUL_LOCAL_DIR/swift:
#                      etc/ (server configs + rings), data/ (objects, recon cache), run/ (pid files), logs/
#   S3_LOCAL_PORT      proxy / S3 port (default 8080)
#   S3_LOCAL_BUCKET    bucket created on start (default haul-test)
#   SWIFT_BACKEND_PORT first of three backend ports: object, +1 container, +2 account (default 6200)
#   SWIFT_MEMCACHED_PORT  memcached for tempauth tokens (default 11211)
#   SWIFT_WORKERS      workers per server (default 1; 0 = no fork, less memory)
#   SWIFT_LOG_LEVEL    default INFO (logs every request to logs/*.log)
#   SWIFT_WAIT         seconds to wait for S3 to answer (default 90)
#
# Swift reads /etc/swift/swift.conf (hash path prefix/suffix, storage policies) from that fixed path;
# there is no option to move it. Debian's swift package ships one (suffix "changeme", policy 0, default
# constraints), which is fine for a local store, so this script leaves an existing file alone and
# writes its own only if the file is missing. Everything else lives under $HAUL_LOCAL_DIR/swift.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/lib-apt.sh
source "$here/lib-apt.sh"

PORT="${S3_LOCAL_PORT:-8080}"
BUCKET="${S3_LOCAL_BUCKET:-haul-test}"
REGION=us-east-1
ACC_KEY="test:tester" SECRET="testing"
BACKEND="${SWIFT_BACKEND_PORT:-6200}"
OBJ_PORT=$BACKEND CONT_PORT=$((BACKEND + 1)) ACCT_PORT=$((BACKEND + 2))
MC_PORT="${SWIFT_MEMCACHED_PORT:-11211}"
WORKERS="${SWIFT_WORKERS:-1}"
LOGLEVEL="${SWIFT_LOG_LEVEL:-INFO}"
WAIT_SECS="${SWIFT_WAIT:-90}"

BASE="${HAUL_LOCAL_DIR:-/tmp/haul-local}/swift"
ETC="$BASE/etc" DATA="$BASE/data" RUN="$BASE/run" LOGS="$BASE/logs"
DEV=sdb1
# shellcheck source=SCRIPTDIR/lib-s3-encrypted-proxy.sh
source "$here/lib-s3-encrypted-proxy.sh"
SWIFT_CONF=/etc/swift/swift.conf
OUR_MARK="# written by haul scripts/local-s3.sh"
# Debian's python with the swift modules; a pyenv/venv python3 earlier on PATH has neither.
PY=/usr/bin/python3
PKGS=(swift swift-proxy swift-object swift-container swift-account memcached)

# Servers run as the invoking user (root here); memcached refuses to run as root without -u.
RUN_USER="$(id -un)"
MC_USER=()
[[ $(id -u) == 0 ]] && MC_USER=(-u memcache)

# name|command. The command string doubles as the pattern checked against /proc/PID/cmdline.
DAEMONS=(
  "memcached|memcached ${MC_USER[*]} -l 127.0.0.1 -p $MC_PORT -m 64 -U 0"
  "account|swift-account-server $ETC/account-server.conf -v"
  "container|swift-container-server $ETC/container-server.conf -v"
  "object|swift-object-server $ETC/object-server.conf -v"
  "proxy|swift-proxy-server $ETC/proxy-server.conf -v"
  "object-updater|swift-object-updater $ETC/object-server.conf -v"
  "container-updater|swift-container-updater $ETC/container-server.conf -v"
)

log() { echo "[local-s3] $(date +%T) $*"; }

# ------------------------------------------------------------------------------------------ S3 requests
# s3 METHOD PATH [BODY_FILE] -> prints the HTTP status (000 if no answer) on the first line, then the body.
# SigV2 (header auth), which s3api accepts; no boto on Debian's python3.
read -r -d '' S3PY <<'EOF' || true
import sys, hmac, hashlib, base64, email.utils, urllib.request, urllib.error
port, ak, sk, method, path = sys.argv[1:6]
body = open(sys.argv[6], "rb").read() if len(sys.argv) > 6 else None
date = email.utils.formatdate(usegmt=True)
ctype = "application/octet-stream" if body is not None else ""
# StringToSign = VERB \n Content-MD5 \n Content-Type \n Date \n CanonicalizedResource
sts = "%s\n\n%s\n%s\n%s" % (method, ctype, date, path)
sig = base64.b64encode(hmac.new(sk.encode(), sts.encode(), hashlib.sha1).digest()).decode()
headers = {"Date": date, "Authorization": "AWS %s:%s" % (ak, sig)}
if body is not None:
    headers["Content-Type"] = ctype
req = urllib.request.Request("http://127.0.0.1:%s%s" % (port, path), data=body, method=method, headers=headers)
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # ignore http_proxy for 127.0.0.1
try:
    r = opener.open(req, timeout=5)
    status, data = r.status, r.read()
except urllib.error.HTTPError as e:
    status, data = e.code, e.read()
except Exception as e:
    status, data = 0, str(e).encode()
sys.stdout.write("%03d\n" % status)
sys.stdout.flush()
sys.stdout.buffer.write(data)
EOF
s3() { "$PY" -c "$S3PY" "$PORT" "$ACC_KEY" "$SECRET" "$@"; }
s3_status() { s3 "$@" | head -n 1; }

s3_answers() {  # ListBuckets -> 200
  local out; out="$(s3 GET / 2>/dev/null)" || return 1
  [[ ${out%%$'\n'*} == 200 && $out == *ListAllMyBucketsResult* ]]
}
bucket_exists() { [[ "$(s3_status HEAD "/$BUCKET" 2>/dev/null)" == 200 ]]; }

create_bucket() {
  local out code attempt
  # Right after a start the proxy may answer before the account/container servers do, with
  # 503 "Please reduce your request rate": retry 5xx for a while.
  for attempt in $(seq 1 40); do
    out="$(s3 PUT "/$BUCKET")"
    code="${out%%$'\n'*}"
    [[ $code == 5* ]] || break
    sleep 0.5
  done
  # 409 BucketAlreadyOwnedByYou: a warm start, the bucket survived in $DATA.
  if [[ $code == 200 ]]; then log "created bucket $BUCKET"
  elif [[ $code == 409 && $out == *BucketAlreadyOwnedByYou* ]]; then log "bucket $BUCKET exists"
  else echo "creating bucket $BUCKET failed: HTTP $code ${out#*$'\n'}" >&2; return 1
  fi
}

# ------------------------------------------------------------------------------------------ processes
alive() { pid_is "$RUN/$1.pid" "$2"; }
all_alive() {
  local d
  for d in "${DAEMONS[@]}"; do alive "${d%%|*}" "${d#*|}" || return 1; done
}
any_pidfile() { compgen -G "$RUN/*.pid" >/dev/null; }

do_stop() {
  local d name pid pids=() i alive_any p
  encrypted_proxy_stop
  for d in "${DAEMONS[@]}"; do
    name="${d%%|*}"
    if alive "$name" "${d#*|}"; then
      pid="$(cat "$RUN/$name.pid")"
      # Swift servers' SIGTERM handler signals their whole process group (= their workers, since each
      # was started in its own session by setsid), then exits.
      kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
    fi
    rm -f "$RUN/$name.pid"
  done
  for ((i = 0; i < 100; i++)); do
    alive_any=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive_any=1; done
    ((alive_any)) || break
    sleep 0.1
  done
  for p in "${pids[@]}"; do
    if kill -0 "$p" 2>/dev/null; then
      log "PID $p ignored SIGTERM for 10s, sending SIGKILL to its process group"
      kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null || true
    fi
  done
  log "stopped ${#pids[@]} process(es)"
}

# ------------------------------------------------------------------------------------------ configs
write_configs() {
  mkdir -p "$ETC" "$DATA/devices/$DEV" "$DATA/recon" "$RUN" "$LOGS"   # recon must NOT live inside devices/

  if [[ ! -e $SWIFT_CONF ]] || grep -qxF "$OUR_MARK" "$SWIFT_CONF"; then
    mkdir -p "$(dirname "$SWIFT_CONF")"
    cat > "$SWIFT_CONF.tmp" <<EOF
$OUR_MARK
[swift-hash]
# never change these after data has been written (they decide where objects live)
swift_hash_path_suffix = haul-local-suffix
swift_hash_path_prefix = haul-local-prefix

[storage-policy:0]
name = Policy-0
default = yes

[swift-constraints]
# 5 GiB + 2 single-object limit (= S3's PutObject / UploadPart limit)
max_file_size = 5368709122
EOF
    mv -f "$SWIFT_CONF.tmp" "$SWIFT_CONF"
  else
    :   # Debian's (or the admin's) swift.conf: keep it, changing the hash suffix would orphan data
  fi

  # backend_conf TYPE PORT [APP_SETTING]: a backend server's config up to its own daemons' sections:
  # [DEFAULT] on PORT, the pipeline (healthcheck, then the server) and the server app.
  backend_conf() {
    cat <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $2
workers = $WORKERS
user = $RUN_USER
swift_dir = $ETC
devices = $DATA/devices
mount_check = false
disable_fallocate = true
recon_cache_path = $DATA/recon
log_level = $LOGLEVEL
log_name = swift

[pipeline:main]
pipeline = healthcheck $1-server

[app:$1-server]
use = egg:swift#$1
${3:+$3
}
[filter:healthcheck]
use = egg:swift#healthcheck

EOF
  }

  { backend_conf account "$ACCT_PORT"; cat <<'EOF'
[account-replicator]
[account-auditor]
[account-reaper]
EOF
  } > "$ETC/account-server.conf"

  { backend_conf container "$CONT_PORT"; cat <<'EOF'
[container-replicator]
[container-updater]
interval = 30
[container-auditor]
[container-sync]
EOF
  } > "$ETC/container-server.conf"

  local object_app_setting='# Default 1s: if the container server is slower than this, the listing update is deferred to an
# async_pending (applied later by swift-object-updater), so ListParts / ListObjects briefly miss
# the object -> @tus/s3-store computes a too-low upload offset.
container_update_timeout = 10'
  { backend_conf object "$OBJ_PORT" "$object_app_setting"; cat <<'EOF'
[object-replicator]
[object-reconstructor]
[object-updater]
interval = 10
[object-auditor]
EOF
  } > "$ETC/object-server.conf"

  cat > "$ETC/proxy-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $PORT
workers = $WORKERS
user = $RUN_USER
swift_dir = $ETC
log_level = $LOGLEVEL
log_name = proxy-server
recon_cache_path = $DATA/recon

[pipeline:main]
# s3api must come before the auth middleware (tempauth); slo is needed for multipart uploads
# (CompleteMultipartUpload writes an SLO manifest).
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk tempurl ratelimit s3api tempauth copy container-quotas account-quotas slo dlo versioned_writes symlink proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
allow_account_management = true

[filter:s3api]
use = egg:swift#s3api
# must equal the region SigV4 clients sign with
location = $REGION
allow_multipart_uploads = true
s3_acl = false
dns_compliant_bucket_names = true
# S3's minimum part size (all parts but the last): without it Swift accepts tiny parts that real S3
# rejects with EntityTooSmall, and tests would pass here but fail against AWS.
min_segment_size = 5242880
max_upload_part_num = 10000
max_parts_listing = 1000
max_multi_delete_objects = 1000

[filter:tempauth]
use = egg:swift#tempauth
# user_<account>_<user> = <key> [group...]   -> S3 access key "test:tester"
user_admin_admin = admin .admin .reseller_admin
user_test_tester = $SECRET .admin
user_test2_tester2 = testing2 .admin

[filter:cache]
# tempauth needs memcache for its tokens
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$MC_PORT

EOF
  # The pipeline's other filters take their defaults: [filter:NAME] is egg:swift#NAME, "-" as "_".
  local filter
  for filter in catch_errors gatekeeper healthcheck proxy-logging listing_formats bulk tempurl ratelimit \
    copy container-quotas account-quotas slo dlo versioned_writes symlink; do
    printf '[filter:%s]\nuse = egg:swift#%s\n' "$filter" "${filter//-/_}"
  done >> "$ETC/proxy-server.conf"
}

# Rings only once: re-creating a ring re-shuffles partitions and orphans the data already stored,
# so a ring is built only while its .ring.gz is missing. They live next to the data ($ETC), so
# deleting $BASE resets both together.
build_ring() {  # $1 type  $2 port
  local b="$ETC/$1.builder"
  [[ -s "$ETC/$1.ring.gz" ]] && return 0
  rm -f "$b"
  swift-ring-builder "$b" create 10 1 1 >/dev/null          # 2^10 partitions, 1 replica, min_part_hours 1
  swift-ring-builder "$b" add "r1z1-127.0.0.1:$2/$DEV" 100 >/dev/null
  swift-ring-builder "$b" rebalance >/dev/null || true     # exit 1 = warning only
  [[ -s "$ETC/$1.ring.gz" ]] || { echo "ring $1 not built" >&2; exit 1; }
  log "built $1 ring"
}

# ------------------------------------------------------------------------------------------ start
do_start() {
  local t_start=$SECONDS d name cmd t0 out
  if all_alive && s3_answers; then
    create_bucket >/dev/null   # cheap, and makes sure a deleted bucket comes back
    encrypted_proxy_start      # only it, if missing: never restarts the running Swift
    log "already running; S3 answers on 127.0.0.1:$PORT (bucket $BUCKET)"
    return 0
  fi
  # partial or stale state (a daemon died, machine rebooted): stop what we recorded, start afresh
  if any_pidfile; then
    log "partial/stale state: stopping the recorded PIDs first"
    do_stop
  fi
  local p
  for p in "$PORT" "$OBJ_PORT" "$CONT_PORT" "$ACCT_PORT" "$MC_PORT"; do
    if port_open "$p"; then
      echo "127.0.0.1:$p is already in use by another program (not started by this script);" \
        "set S3_LOCAL_PORT / SWIFT_BACKEND_PORT / SWIFT_MEMCACHED_PORT" >&2
      exit 1
    fi
  done

  apt_ensure "${PKGS[@]}"
  write_configs
  build_ring account "$ACCT_PORT"
  build_ring container "$CONT_PORT"
  build_ring object "$OBJ_PORT"

  for d in "${DAEMONS[@]}"; do
    name="${d%%|*}" cmd="${d#*|}"
    [[ -f "$LOGS/$name.log" ]] && mv -f "$LOGS/$name.log" "$LOGS/$name.log.prev"
    rm -f "$RUN/$name.pid"
    # Own session per daemon (setsid): a Swift server's SIGTERM handler does killpg(0), which would
    # otherwise also kill this script, the test runner and every sibling daemon in our process group.
    # The wrapper records its own PID and execs the daemon, so the PID file is right whether or not
    # setsid had to fork.
    # shellcheck disable=SC2086,SC2016  # $cmd is split on purpose; $$/$0/$@ are for the inner sh
    setsid sh -c 'echo $$ > "$0"; exec "$@"' "$RUN/$name.pid" $cmd </dev/null >>"$LOGS/$name.log" 2>&1 &
  done

  log "waiting for S3 on 127.0.0.1:$PORT"
  t0=$SECONDS
  while :; do
    if s3_answers; then break; fi
    for d in "${DAEMONS[@]}"; do
      name="${d%%|*}"
      if ((SECONDS - t0 >= 2)) && ! alive "$name" "${d#*|}"; then
        echo "daemon $name died; tail of $LOGS/$name.log:" >&2
        tail -n 20 "$LOGS/$name.log" >&2 || true
        do_stop >&2
        exit 1
      fi
    done
    if ((SECONDS - t0 >= WAIT_SECS)); then
      echo "S3 did not answer within ${WAIT_SECS}s; see $LOGS/*.log" >&2
      do_stop >&2
      exit 1
    fi
    sleep 0.2
  done
  create_bucket
  encrypted_proxy_start
  log "S3 answers on http://127.0.0.1:$PORT, bucket $BUCKET" \
    "($((SECONDS - t0))s after launching daemons, $((SECONDS - t_start))s in total)"
}

do_status() {
  if ! all_alive; then echo "local S3 not running"; return 1; fi
  if ! s3_answers; then echo "local S3 daemons run but S3 does not answer on 127.0.0.1:$PORT"; return 1; fi
  if ! bucket_exists; then echo "local S3 runs but bucket $BUCKET is missing (run start)"; return 1; fi
  if ! encrypted_proxy_status; then echo "local S3 runs but not its encrypted proxy on 127.0.0.1:$ENC_PORT (run start)"; return 3; fi
  echo "local S3 running: http://127.0.0.1:$PORT bucket $BUCKET (state in $BASE)"
}

do_env() {
  cat <<EOF
export S3_ENDPOINT=http://127.0.0.1:$PORT
export S3_REGION=$REGION
export S3_BUCKET=$BUCKET
export S3_ACCESS_KEY_ID=$ACC_KEY
export S3_SECRET_ACCESS_KEY=$SECRET
export S3_FORCE_PATH_STYLE=true
EOF
  encrypted_proxy_env
}

do_check() {  # PUT / GET / DELETE one object through S3
  local f key out
  f="$(mktemp)"; key="local-s3-check-$$-$RANDOM"
  head -c 4096 /dev/urandom > "$f"
  out="$(s3_status PUT "/$BUCKET/$key" "$f")"
  [[ $out == 200 ]] || { echo "PUT failed: HTTP $out" >&2; rm -f "$f"; return 1; }
  if ! s3 GET "/$BUCKET/$key" | tail -c +5 | cmp -s - "$f"; then
    echo "GET returned other bytes" >&2; rm -f "$f"; return 1
  fi
  out="$(s3_status DELETE "/$BUCKET/$key")"
  rm -f "$f"
  [[ $out == 204 ]] || { echo "DELETE failed: HTTP $out" >&2; return 1; }
  echo "local S3 check ok: PUT/GET/DELETE of 4 KiB via http://127.0.0.1:$PORT/$BUCKET"
}

case "${1:-}" in
  start) do_start ;;
  stop) do_stop ;;
  status) do_status ;;
  env) do_env ;;
  check) do_check ;;
  *) echo "usage: $0 start|stop|status|env|check" >&2; exit 2 ;;
esac
