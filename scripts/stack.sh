#!/usr/bin/env bash
# scripts/stack.sh - the local AWS stand-ins, for humans and the demo.
#
#   scripts/stack.sh start [--proxy]   start s3rver (S3, port 4569) and dynalite (DynamoDB, port
#                                      4567) in the background; --proxy also starts
#                                      tests/integration/awsproxy.py in front of each (SigV4
#                                      verification with botocore; S3 on 4579, DynamoDB on 4577)
#   scripts/stack.sh stop              stop them (SIGTERM, then SIGKILL after 5 s)
#   scripts/stack.sh status            what runs
#   scripts/stack.sh env               print `export ...` lines: eval "$(scripts/stack.sh env)"
#   scripts/stack.sh reset             stop and delete the data
#
# State lives in build/stack/: pids (*.pid), logs (*.log), S3 objects (s3/), DynamoDB tables
# (dynamodb/, LevelDB: kept across restarts until `reset`).
# Settings (environment): ETL_STACK_S3_PORT (4569), ETL_STACK_DDB_PORT (4567),
# ETL_STACK_S3_PROXY_PORT (4579), ETL_STACK_DDB_PROXY_PORT (4577), ETL_STACK_BUCKETS ("lake",
# space-separated), ETL_STACK_ACCESS_KEY (AKIDLOCALSTACK), ETL_STACK_SECRET_KEY, ETL_STACK_HOST
# (127.0.0.1; 0.0.0.0 lets `sam local invoke` containers reach it via host.docker.internal).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$ETL_ROOT"

STATE="$ETL_ROOT/build/stack"
S3_PORT="${ETL_STACK_S3_PORT:-4569}"
DDB_PORT="${ETL_STACK_DDB_PORT:-4567}"
S3_PROXY_PORT="${ETL_STACK_S3_PROXY_PORT:-4579}"
DDB_PROXY_PORT="${ETL_STACK_DDB_PROXY_PORT:-4577}"
BUCKETS="${ETL_STACK_BUCKETS:-lake}"
ACCESS_KEY="${ETL_STACK_ACCESS_KEY:-AKIDLOCALSTACK}"
SECRET_KEY="${ETL_STACK_SECRET_KEY:-localstack/secret/KEY+never+logged}"
HOST="${ETL_STACK_HOST:-127.0.0.1}"
REGION=us-east-1
SERVICES=(s3rver dynalite awsproxy-s3 awsproxy-dynamodb)

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

# pid_of NAME: the pid from NAME.pid if that process is alive and still ours, else nothing.
pid_of() {
  local f="$STATE/$1.pid" pid
  [ -f "$f" ] || return 0
  pid="$(cat "$f")"
  if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] &&
     tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -e 'scripts/stack/' -e 'awsproxy.py'; then
    echo "$pid"
  fi
}

# wait_ready NAME: waits for "ready <port>" in NAME.log (10 s).
wait_ready() {
  local name="$1"
  for _ in $(seq 1 100); do
    if grep -q '^ready ' "$STATE/$name.log" 2>/dev/null; then return 0; fi
    if [ -z "$(pid_of "$name")" ]; then
      tail -n 20 "$STATE/$name.log" >&2 || true
      die "$name exited before it was ready (log: $STATE/$name.log)"
    fi
    sleep 0.1
  done
  die "$name not ready after 10 s (log: $STATE/$name.log)"
}

# launch NAME CMD...: runs CMD in the background, logging to NAME.log, pid in NAME.pid.
launch() {
  local name="$1" pid; shift
  pid="$(pid_of "$name")"
  if [ -n "$pid" ]; then
    log "$name already running (pid $pid)"
    return 0
  fi
  : > "$STATE/$name.log"
  nohup "$@" < /dev/null >> "$STATE/$name.log" 2>&1 &
  echo $! > "$STATE/$name.pid"
  wait_ready "$name"
  log "$name ready (pid $(cat "$STATE/$name.pid"), log $STATE/$name.log)"
}

# proxy_python: Debian's python3 with botocore (installed if missing), for awsproxy.py.
proxy_python() {
  /usr/bin/python3 -c 'import botocore' 2>/dev/null || ensure_packages python3 python3-botocore
  echo /usr/bin/python3
}

start() {
  local proxy=0
  case "${1:-}" in
    --proxy) proxy=1 ;;
    "") ;;
    *) usage ;;
  esac
  ensure_node_modules
  mkdir -p "$STATE/s3" "$STATE/dynamodb"
  local bucket_args=() b
  for b in $BUCKETS; do bucket_args+=(--bucket "$b"); done
  launch s3rver node scripts/stack/s3rver.js --port "$S3_PORT" --host "$HOST" --dir "$STATE/s3" \
    --access-key "$ACCESS_KEY:$SECRET_KEY" "${bucket_args[@]}" --verbose
  launch dynalite node scripts/stack/dynalite.js --port "$DDB_PORT" --host "$HOST" --path "$STATE/dynamodb"
  if [ "$proxy" = 1 ]; then
    local py; py="$(proxy_python)"
    AWSPROXY_SECRET_KEY="$SECRET_KEY" launch awsproxy-s3 "$py" tests/integration/awsproxy.py \
      --listen "$HOST:$S3_PROXY_PORT" --upstream "http://127.0.0.1:$S3_PORT" \
      --service s3 --access-key "$ACCESS_KEY" --region "$REGION" --verbose
    AWSPROXY_SECRET_KEY="$SECRET_KEY" launch awsproxy-dynamodb "$py" tests/integration/awsproxy.py \
      --listen "$HOST:$DDB_PROXY_PORT" --upstream "http://127.0.0.1:$DDB_PORT" \
      --service dynamodb --access-key "$ACCESS_KEY" --region "$REGION" --verbose
    echo proxy > "$STATE/mode"
  else
    echo direct > "$STATE/mode"
  fi
  log "up: eval \"\$(scripts/stack.sh env)\" to point the bootstrap and awscli at it"
}

stop() {
  local name pid pids=()
  for name in "${SERVICES[@]}"; do
    pid="$(pid_of "$name")"
    if [ -n "$pid" ]; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  for _ in $(seq 1 50); do
    local alive=0
    for pid in "${pids[@]}"; do
      if kill -0 "$pid" 2>/dev/null; then alive=1; fi
    done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      log "pid $pid ignored SIGTERM: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  for name in "${SERVICES[@]}"; do rm -f "$STATE/$name.pid"; done
  rm -f "$STATE/mode"
  if [ "${#pids[@]}" -gt 0 ]; then log "stopped ${#pids[@]} process(es)"; else log "nothing was running"; fi
}

status() {
  local name pid
  for name in "${SERVICES[@]}"; do
    pid="$(pid_of "$name")"
    if [ -n "$pid" ]; then echo "$name: running (pid $pid)"; else echo "$name: stopped"; fi
  done
}

env_lines() {
  local s3="http://127.0.0.1:$S3_PORT" ddb="http://127.0.0.1:$DDB_PORT"
  if [ "$(cat "$STATE/mode" 2>/dev/null || true)" = proxy ]; then
    s3="http://127.0.0.1:$S3_PROXY_PORT"
    ddb="http://127.0.0.1:$DDB_PROXY_PORT"
  fi
  [ -n "$(pid_of s3rver)" ] || log "warning: the stack is not running (scripts/stack.sh start)"
  printf 'export AWS_ACCESS_KEY_ID=%q\n' "$ACCESS_KEY"
  printf 'export AWS_SECRET_ACCESS_KEY=%q\n' "$SECRET_KEY"
  echo "unset AWS_SESSION_TOKEN AWS_PROFILE"
  echo "export AWS_REGION=$REGION"
  echo "export AWS_DEFAULT_REGION=$REGION"
  echo "export AWS_ENDPOINT_URL_S3=$s3"
  echo "export AWS_ENDPOINT_URL_DYNAMODB=$ddb"
  echo "export AWS_EC2_METADATA_DISABLED=true"
  echo "# awscli older than 1.31/2.13 ignores AWS_ENDPOINT_URL_*: pass --endpoint-url $s3 (s3)"
  echo "# or --endpoint-url $ddb (dynamodb)"
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) stop ;;
  status) status ;;
  env) env_lines ;;
  reset) stop; rm -rf "$STATE/s3" "$STATE/dynamodb"; log "data deleted" ;;
  *) usage ;;
esac
