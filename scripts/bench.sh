#!/usr/bin/env bash
# scripts/bench.sh - measures the figures in the README's Benchmarks section (never asserted in
# tests): cold start, warm batch latency to a directory and to s3rver, the same behind a proxy that
# adds S3's typical latency per request (with the requests per invocation), peak RSS for a near-6
# MB batch. Usage: scripts/bench.sh [--runs N] [--only latency] [--latency-put-post MS] ...
# (scripts/bench.py --help lists them all)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ETL_ROOT"

ensure_build_packages
ensure_node_modules
[ -x dist/bootstrap ] || scripts/build-static.sh
# aws_tool (the S3/DynamoDB clients as a command) comes from the development build.
cmake -S . -B build >/dev/null && cmake --build build --target aws_tool -j"$(nproc)" >/dev/null
log "dist/bootstrap: $(stat -c %s dist/bootstrap) bytes; function.zip: $(stat -c %s dist/function.zip) bytes"
python3 scripts/bench.py "$@"
