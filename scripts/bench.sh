#!/usr/bin/env bash
# scripts/bench.sh - measures the figures in the README's Benchmarks section (never asserted in
# tests): cold start, warm batch latency to a directory and to s3rver, the same behind a proxy that
# adds S3's typical latency per request (with the requests per invocation; two readings:
# s3rver's own time inside the latency, and the latency added before it), peak RSS for a near-6
# MB batch, and (callgrind) a warm batch's instructions against zlib level 6 alone, with each gzip
# level's cost. Usage: scripts/bench.sh [--runs N] [--only latency] [--cpu (only the callgrind/codec
# figures)] [--latency-reading both|added|inside] [--latency-put-post MS] ... (scripts/bench.py
# --help lists them all)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ETL_ROOT"

ensure_build_packages
ensure_node_modules
[ -x dist/bootstrap ] || scripts/build-static.sh
# aws_tool (the S3/DynamoDB clients as a command) and codec_bench (zlib and libdeflate on a
# batch's objects) come from the development build; callgrind runs build/static/bootstrap.
cmake -S . -B build >/dev/null && cmake --build build --target aws_tool codec_bench -j"$(nproc)" >/dev/null
log "dist/bootstrap: $(stat -c %s dist/bootstrap) bytes; function.zip: $(stat -c %s dist/function.zip) bytes"
python3 scripts/bench.py "$@"
