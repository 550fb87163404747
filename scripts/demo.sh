#!/usr/bin/env bash
# scripts/demo.sh - the main job, locally, on a fresh Debian 12 machine: builds the static
# bootstrap, starts a local S3 (s3rver) and DynamoDB (dynalite) behind SigV4-verifying proxies,
# then, through the bootstrap under scripts/local-invoke (as Lambda would run it):
#   1. streams DynamoDB change batches into the lake and shows what landed (keys, rows per
#      object, DuckDB queries);
#   2. seeds a table with thousands of items of every attribute type, runs the scheduled
#      snapshot, and shows its manifest, schema, Athena DDL and a DuckDB query.
# Usage: scripts/demo.sh [--keep]   (--keep leaves the local stack running; stop it with
#                                    scripts/stack.sh stop)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ETL_ROOT"

keep=0
[ "${1:-}" = "--keep" ] && keep=1

ensure_build_packages
ensure_node_modules
ensure_awscli
scripts/build-static.sh

work="$(mktemp -d)"
trap 'rm -rf "$work"; [ "$keep" -eq 1 ] || scripts/stack.sh stop >/dev/null 2>&1 || true' EXIT

scripts/stack.sh stop >/dev/null 2>&1 || true
scripts/stack.sh start --proxy
# In --proxy mode the endpoints are the verifying proxies, which forward to s3rver and dynalite.
eval "$(scripts/stack.sh env)"
export ETL_OUTPUT="s3://lake/demo/"

log "generating a realistic 1,000-record change batch (every DynamoDB type, 38-digit numbers)"
python3 - "$work/batch.json" <<'PY'
import sys
sys.path.insert(0, "tests/integration")
import ddbgen
ddbgen.write_event(sys.argv[1], ddbgen.make_records(1000, seed=2026))
PY

events=(
  tests/vectors/events/aws-sam-cli__DynamoDBUpdate.json
  tests/vectors/events/aws-lambda-go__dynamodb-event.json
  "$work/batch.json"
  tests/vectors/events/aws-lambda-go__s3-event.json
)
args=()
for e in "${events[@]}"; do args+=(-e "$e"); done
log "invoking dist/bootstrap on ${#events[@]} events (the last is not a DynamoDB event: it must be refused)"
set +e
scripts/local-invoke --bootstrap dist/bootstrap --timeout 60 "${args[@]}" 2>"$work/function.log"
rc=$?
set -e
log "local-invoke exit status $rc (1: at least one invocation returned an error, as expected here)"
grep -h '"_aws"' "$work/function.log" | tail -n 1 | sed 's/^/  metrics: /' || true

log "what landed in s3://lake/demo/ (read back with awscli):"
aws --endpoint-url "$AWS_ENDPOINT_URL_S3" s3 ls s3://lake/demo/ --recursive | sed 's/^/  /'
aws --endpoint-url "$AWS_ENDPOINT_URL_S3" s3 cp s3://lake/demo/ "$work/lake" --recursive --only-show-errors
log "rows per object:"
find "$work/lake" -name '*.gz' | sort | while read -r f; do
  printf '  %6d  %s\n' "$(zcat "$f" | wc -l)" "${f#"$work/lake/"}"
done

log "DuckDB over the objects (as Athena would read them):"
scripts/duckdb-query \
  "SELECT _table, _op, count(*) AS changes, min(_ts) AS first, max(_ts) AS last FROM read_json('$work/lake/**/*.jsonl.gz', format='newline_delimited', union_by_name=true) GROUP BY ALL ORDER BY ALL" \
  "SELECT pk, _seq, amount::VARCHAR AS amount, _op FROM read_json('$work/lake/Orders/**/*.jsonl.gz', format='newline_delimited', union_by_name=true, columns={pk: 'VARCHAR', _seq: 'VARCHAR', amount: 'VARCHAR', _op: 'VARCHAR'}) WHERE length(amount) >= 38 ORDER BY _seq LIMIT 3" \
  | sed 's/^/  /'
log "---- scheduled snapshot ----"
log "seeding table DemoOrders in dynalite with 5,000 items of every attribute type"
/usr/bin/python3 tests/integration/seed_table.py --endpoint "$AWS_ENDPOINT_URL_DYNAMODB" \
  --table DemoOrders --items 5000
cat >"$work/schedule.json" <<'JSON'
{"version":"0","id":"demo","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012",
 "time":"2026-11-24T00:00:00Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/nightly"],"detail":{}}
JSON
log "invoking the scheduled event twice (the second delivery must change nothing)"
scripts/local-invoke --bootstrap dist/bootstrap --timeout 120 --env ETL_TABLE=DemoOrders \
  --env ETL_SEGMENTS=4 -e "$work/schedule.json" -e "$work/schedule.json" 2>"$work/export.log"
run="s3://lake/demo/DemoOrders/snapshots/run=2026-11-24T000000Z/"
log "the run folder $run"
aws --endpoint-url "$AWS_ENDPOINT_URL_S3" s3 ls "$run" --recursive | sed 's/^/  /'
log "_meta/manifest.json (head):"
aws --endpoint-url "$AWS_ENDPOINT_URL_S3" s3 cp "${run}_meta/manifest.json" - | head -n 16 | sed 's/^/  /'
log "_meta/table.ddl (head):"
aws --endpoint-url "$AWS_ENDPOINT_URL_S3" s3 cp "${run}_meta/table.ddl" - | head -n 12 | sed 's/^/  /'
aws --endpoint-url "$AWS_ENDPOINT_URL_S3" s3 cp "$run" "$work/snap" --recursive --exclude '_*' --only-show-errors
log "DuckDB over the snapshot files:"
scripts/duckdb-query \
  "SELECT count(*) AS items, count(DISTINCT pk) AS distinct_keys, min(_ts) AS snapshot_time FROM read_json('$work/snap/*.jsonl.gz', format='newline_delimited', union_by_name=true)" \
  "SELECT pk, sk, blob, name FROM read_json('$work/snap/*.jsonl.gz', format='newline_delimited', union_by_name=true, columns={pk: 'VARCHAR', sk: 'BIGINT', blob: 'VARCHAR', name: 'VARCHAR'}) ORDER BY pk LIMIT 3" \
  | sed 's/^/  /'

python3 - "$AWS_ENDPOINT_URL_S3/__proxy/stats" <<'PY'
import json, sys, urllib.request
s = json.load(urllib.request.urlopen(sys.argv[1], timeout=10))
print("  SigV4 proxy: %d S3 requests verified with botocore, %d signature failures"
      % (s["verified"], s["signature_failures"]))
PY
