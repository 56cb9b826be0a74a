# shellcheck shell=bash
# Sourced by scripts/local-s3.sh (uses its PY, S3PY, ACC_KEY, SECRET, ETC, RUN, LOGS, DATA, DEV, WAIT_SECS, log):
# a SECOND Swift proxy in front of the same rings and backends (one Swift, one set of objects on
# disk, two doors), whose pipeline adds Swift's at-rest encryption (keymaster + encryption):
#   - every object written through it is AES-256-CTR encrypted on the object server's disk, with
#     keys derived from a root secret generated once into $ETC/keymaster.conf;
#   - its S3 API therefore accepts `x-amz-server-side-encryption: AES256` (s3api accepts SSE-S3 only
#     when the encryption middleware is enabled; `aws:kms` is always 501 NotImplemented);
#   - its access log records each client request's `x-amz-server-side-encryption` (and
#     `x-amz-copy-source`) header, so tests see which requests asked for SSE.
# The plain proxy (S3_LOCAL_PORT) never sees this key: objects written here read back as ciphertext
# there. Tests use their own bucket on this proxy ($ENC_BUCKET), so nothing else lists them.
#
# Environment:
#   S3_LOCAL_ENCRYPTED_PORT    its port (default 8081)
#   S3_LOCAL_ENCRYPTED_BUCKET  bucket created through it on start (default haul-encrypted)

ENC_PORT="${S3_LOCAL_ENCRYPTED_PORT:-8081}"
ENC_BUCKET="${S3_LOCAL_ENCRYPTED_BUCKET:-haul-encrypted}"
ENC_NAME=proxy-encrypted
ENC_CONF="$ETC/proxy-server-encrypted.conf"
ENC_KEYMASTER="$ETC/keymaster.conf"
ENC_LOG="$LOGS/$ENC_NAME.log"
# Also the pattern checked against /proc/PID/cmdline (it differs from the plain proxy's).
ENC_CMD="swift-proxy-server $ENC_CONF -v"

encrypted_proxy_alive() { pid_is "$RUN/$ENC_NAME.pid" "$ENC_CMD"; }
enc_s3() { "$PY" -c "$S3PY" "$ENC_PORT" "$ACC_KEY" "$SECRET" "$@"; }
enc_s3_answers() {
  local out; out="$(enc_s3 GET / 2>/dev/null)" || return 1
  [[ ${out%%$'\n'*} == 200 && $out == *ListAllMyBucketsResult* ]]
}

# The plain proxy's config (written by write_configs) with: its own port, keymaster + encryption
# right before the last proxy-logging (Swift's sample: "They should be to the right of all other
# middleware apart from the final proxy-logging middleware"), and an access log that names each
# request's SSE header. Derived, not copied, so both proxies keep the same auth, s3api settings
# and filters.
encrypted_proxy_write_config() {
  if [[ ! -s $ENC_KEYMASTER ]]; then
    # Never regenerated: "Changing the root secret is likely to result in data loss" (Swift's sample).
    # meta_version_to_write lives here too: with keymaster_config_path, the keymaster reads only this file.
    # 3 = the newest crypto metadata format (no older proxies need to read it).
    (umask 077; printf '[keymaster]\nencryption_root_secret = %s\nmeta_version_to_write = 3\n' \
      "$(head -c 32 /dev/urandom | base64 -w0)" > "$ENC_KEYMASTER.tmp")
    mv -f "$ENC_KEYMASTER.tmp" "$ENC_KEYMASTER"
    log "generated the encryption root secret in $ENC_KEYMASTER"
  fi
  sed -E \
    -e "s/^bind_port = .*/bind_port = $ENC_PORT/" \
    -e "s/^log_name = .*/log_name = $ENC_NAME/" \
    -e 's/^(pipeline = .*) proxy-logging proxy-server$/\1 keymaster encryption proxy-logging proxy-server/' \
    -e '/^\[filter:proxy-logging\]$/a\
access_log_name = sse-access\
access_log_headers = true\
access_log_headers_only = x-amz-server-side-encryption, x-amz-copy-source\
# {source} is "-" for client requests, a middleware name for their subrequests\
log_msg_template = {method} {path} {status_int} {source} {transaction_id} {headers}' \
    "$ETC/proxy-server.conf" > "$ENC_CONF.tmp"
  cat >> "$ENC_CONF.tmp" <<EOF

[filter:keymaster]
use = egg:swift#keymaster
keymaster_config_path = $ENC_KEYMASTER

[filter:encryption]
use = egg:swift#encryption
EOF
  if ! grep -q '^pipeline = .* keymaster encryption proxy-logging proxy-server$' "$ENC_CONF.tmp" ||
    ! grep -q '^access_log_headers = true$' "$ENC_CONF.tmp"; then
    echo "$ETC/proxy-server.conf no longer has the shape $ENC_CONF is derived from" >&2
    rm -f "$ENC_CONF.tmp"
    return 1
  fi
  mv -f "$ENC_CONF.tmp" "$ENC_CONF"
}

# Starts it if it is not running (the other daemons must be: it only adds a door to them), waits
# until its S3 API answers, creates its bucket.
encrypted_proxy_start() {
  local t0=$SECONDS code attempt out
  if ! encrypted_proxy_alive; then
    if port_open "$ENC_PORT"; then
      echo "127.0.0.1:$ENC_PORT is already in use by another program; set S3_LOCAL_ENCRYPTED_PORT" >&2
      return 1
    fi
    encrypted_proxy_write_config
    [[ -f $ENC_LOG ]] && mv -f "$ENC_LOG" "$ENC_LOG.prev"
    rm -f "$RUN/$ENC_NAME.pid"
    # As local-s3.sh starts its daemons: own session, the wrapper's PID recorded, then exec.
    # shellcheck disable=SC2086,SC2016
    setsid sh -c 'echo $$ > "$0"; exec "$@"' "$RUN/$ENC_NAME.pid" $ENC_CMD </dev/null >>"$ENC_LOG" 2>&1 &
  fi
  until enc_s3_answers; do
    if ((SECONDS - t0 >= 2)) && ! encrypted_proxy_alive; then
      echo "the encrypted proxy died; tail of $ENC_LOG:" >&2
      tail -n 20 "$ENC_LOG" >&2 || true
      return 1
    fi
    if ((SECONDS - t0 >= WAIT_SECS)); then
      echo "the encrypted proxy did not answer on 127.0.0.1:$ENC_PORT within ${WAIT_SECS}s; see $ENC_LOG" >&2
      encrypted_proxy_stop >&2
      return 1
    fi
    sleep 0.2
  done
  for attempt in $(seq 1 40); do   # 5xx right after a start: retry (as create_bucket does)
    out="$(enc_s3 PUT "/$ENC_BUCKET")"
    code="${out%%$'\n'*}"
    [[ $code == 5* ]] || break
    sleep 0.5
  done
  if [[ $code != 200 && ! ($code == 409 && $out == *BucketAlreadyOwnedByYou*) ]]; then
    echo "creating bucket $ENC_BUCKET through the encrypted proxy failed: HTTP $code ${out#*$'\n'}" >&2
    return 1
  fi
  log "encrypted proxy (Swift at-rest encryption) answers on http://127.0.0.1:$ENC_PORT, bucket $ENC_BUCKET"
}

encrypted_proxy_stop() {
  local pid i
  if encrypted_proxy_alive; then
    pid="$(cat "$RUN/$ENC_NAME.pid")"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; }
    log "stopped the encrypted proxy (PID $pid)"
  fi
  rm -f "$RUN/$ENC_NAME.pid"
}

encrypted_proxy_status() {
  encrypted_proxy_alive && enc_s3_answers && [[ "$(enc_s3 HEAD "/$ENC_BUCKET" 2>/dev/null | head -n 1)" == 200 ]]
}

encrypted_proxy_env() {
  cat <<EOF
export S3_LOCAL_ENCRYPTED_ENDPOINT=http://127.0.0.1:$ENC_PORT
export S3_LOCAL_ENCRYPTED_BUCKET=$ENC_BUCKET
export S3_LOCAL_ENCRYPTED_ACCESS_LOG=$ENC_LOG
export S3_LOCAL_OBJECTS_DIR=$DATA/devices/$DEV/objects
EOF
}
