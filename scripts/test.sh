#!/usr/bin/env bash
# scripts/test.sh - runs every test on a fresh Debian 12 machine: installs what is missing,
# builds the static bootstrap (dist/) and a development build, then runs ctest (cmocka unit
# tests, integration tests through scripts/local-invoke against local stand-ins) and the style
# checks. Usage: scripts/test.sh [ctest args...]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ETL_ROOT"

ensure_build_packages
if [ -f package-lock.json ]; then
  ensure_node_modules
  ensure_awscli
fi
ensure_python_tools

scripts/build-static.sh
jobs="$(nproc 2>/dev/null || echo 2)"

log "development build (warnings are errors) with integration tests on dist/bootstrap"
cmake -S . -B build -DETL_WERROR=ON -DETL_TEST_BOOTSTRAP="$ETL_ROOT/dist/bootstrap" >/dev/null
cmake --build build -j"$jobs" >/dev/null

log "sanitizer build (ASan + UBSan, unit tests)"
cmake -S . -B build/asan -DETL_WERROR=ON -DETL_SANITIZE=address,undefined,float-cast-overflow -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build/asan -j"$jobs" >/dev/null

scripts/check-style.sh

log "unit tests under ASan/UBSan"
ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build/asan -L unit --output-on-failure -j"$jobs" "$@" | tail -n 3

log "fuzzing, short: each libFuzzer target for 10 s after replaying its reproducers (long: scripts/proofs.sh)"
scripts/fuzz.sh --seconds "${ETL_FUZZ_SECONDS:-10}" | tail -n 9

log "all tests (unit + integration)"
ctest --test-dir build --output-on-failure -j"$jobs" "$@"
