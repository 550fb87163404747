#!/usr/bin/env bash
# scripts/fuzz.sh - builds the libFuzzer targets (tests/fuzz, clang-14 with ASan and UBSan) in
# build/fuzz, replays each target's crash reproducers, then fuzzes each for a while and prints
# per target the executions, exec/s, corpus size, coverage and any crash. Exits non-zero when a
# reproducer fails again or fuzzing finds a crash, leak, UBSan report or timeout.
# Usage: scripts/fuzz.sh [--seconds S] [--parallel N] [--replay-only] [target ...]
#   --seconds S    fuzzing time per target (default 20; a long run: --seconds 300)
#   --parallel N   targets fuzzed at once (default 1; each takes one core)
#   --replay-only  only replay tests/fuzz/corpus and tests/fuzz/regressions, no fuzzing
# The committed seeds (tests/fuzz/corpus/<target>) are only read; what fuzzing adds goes to
# build/fuzz/corpus/<target>, crashes to build/fuzz/artifacts/<target>, logs to build/fuzz/logs.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ETL_ROOT"

seconds=20
parallel=1
replay_only=0
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --parallel) parallel="$2"; shift 2 ;;
    --replay-only) replay_only=1; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    -*) die "unknown option $1" ;;
    *) targets+=("$1"); shift ;;
  esac
done
[[ "$seconds" =~ ^[0-9]+$ ]] || die "--seconds takes a whole number"
[[ "$parallel" =~ ^[1-9][0-9]*$ ]] || die "--parallel takes a positive number"
all_targets=(json ddbjson event xml checkpoint spec dqdl expr parquet glue)
[ "${#targets[@]}" -gt 0 ] || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
  [ -f "tests/fuzz/fuzz_$t.c" ] || die "no fuzz target $t (tests/fuzz/fuzz_$t.c)"
done

ensure_packages build-essential cmake pkg-config libssl-dev zlib1g-dev libdeflate-dev libzstd-dev libcurl4-openssl-dev \
  libcjson-dev clang-14 libclang-rt-14-dev

out=build/fuzz
log "building the fuzz targets in $out (clang-14, libFuzzer, ASan, UBSan)"
cmake -S . -B "$out" -DCMAKE_C_COMPILER=clang-14 -DCMAKE_BUILD_TYPE=Debug -DETL_FUZZ=ON \
  -DETL_TESTS=OFF -DETL_WERROR=ON >/dev/null
jobs="$(nproc 2>/dev/null || echo 2)"
if ! cmake --build "$out" -j"$jobs" --target $(printf 'fuzz_%s ' "${targets[@]}") \
  >"$out/build.log" 2>&1; then
  tail -n 40 "$out/build.log" >&2
  die "build failed ($out/build.log)"
fi
mkdir -p "$out/logs" "$out/corpus" "$out/artifacts"

# Sanitizer reports stop the run; leaks count (LeakSanitizer at each input's end under libFuzzer).
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=0

# Replays: libFuzzer runs the files it is given once each and stops at the first failure.
for t in "${targets[@]}"; do
  files=()
  for d in tests/fuzz/corpus/$t tests/fuzz/regressions/$t; do
    [ -d "$d" ] || continue
    while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$d" -maxdepth 1 -type f ! -name '.*' -print0 | sort -z)
  done
  [ "${#files[@]}" -gt 0 ] || continue
  if "$out/tests/fuzz/fuzz_$t" -runs=1 "${files[@]}" >"$out/logs/$t.replay.log" 2>&1; then
    log "replay $t: ${#files[@]} inputs ok"
  else
    log "replay $t: FAILED ($out/logs/$t.replay.log)"
    grep -aE '^(==[0-9]+==ERROR|SUMMARY|Running:|.*runtime error|.*invariant broken)' \
      "$out/logs/$t.replay.log" | tail -n 5 >&2 || true
    failed=1
  fi
done
[ "$replay_only" -eq 0 ] || exit "$failed"

# One target: fuzz for $seconds, new inputs into build/fuzz/corpus/<t>, seeds read-only.
fuzz_one() {
  local t="$1"
  local dict=()
  [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
  mkdir -p "$out/corpus/$t" "$out/artifacts/$t"
  local seeds=()
  [ -d "tests/fuzz/corpus/$t" ] && seeds=("tests/fuzz/corpus/$t")
  "$out/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=16384 -print_final_stats=1 "${dict[@]}" -artifact_prefix="$out/artifacts/$t/" \
    "$out/corpus/$t" "${seeds[@]}" >"$out/logs/$t.log" 2>&1
}

# The final stats of a log: executions, exec/s, corpus, coverage; or the crash.
report() {
  local t="$1" rc="$2" logf="$out/logs/$t.log"
  local execs rate cov corp
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logf" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$logf" | tail -n 1)
  cov=$(grep -aoE 'cov: [0-9]+ ft: [0-9]+' "$logf" | tail -n 1 | sed 's/cov: //; s/ ft: /, features /')
  corp=$(grep -aoE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' "$logf" | tail -n 1 | sed 's/corp: //')
  printf '%-11s execs %-10s exec/s %-7s corpus %-12s cov %s\n' "$t" "${execs:-?}" "${rate:-?}" \
    "${corp:-?}" "${cov:-?}"
  if [ "$rc" -ne 0 ]; then
    printf '%-11s CRASH (exit %s): %s\n' "$t" "$rc" "$logf"
    grep -aE '(==[0-9]+==ERROR|SUMMARY|runtime error|invariant broken|ALARM|Test unit written)' \
      "$logf" | head -n 6 | sed 's/^/            /'
    return 1
  fi
}

log "fuzzing ${#targets[@]} targets for ${seconds}s each, $parallel at a time"
declare -A pids=()
status_of() { wait "$1"; }
i=0
while [ "$i" -lt "${#targets[@]}" ]; do
  batch=("${targets[@]:i:parallel}")
  pids=()
  for t in "${batch[@]}"; do
    fuzz_one "$t" &
    pids[$t]=$!
  done
  for t in "${batch[@]}"; do
    rc=0
    status_of "${pids[$t]}" || rc=$?
    report "$t" "$rc" || failed=1
  done
  i=$((i + parallel))
done
exit "$failed"
