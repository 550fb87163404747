#!/usr/bin/env bash
# scripts/proofs.sh - the long versions of issue 11's reliability proofs, with a summary table:
# fuzzing every parser, overlapping snapshot invocations, kill -9 at every request kind and at
# many random moments, a 10,000-invocation soak of one warm bootstrap, and every request kind
# under resets and 5xx. Tests never assert timings; this script prints them.
# Usage: scripts/proofs.sh [options]
#   --fuzz-seconds S      fuzzing time per target (default 300; 0 skips fuzzing)
#   --fuzz-parallel N     targets fuzzed at once (default 1)
#   --overlap-trials N    ETL_OVERLAP_TRIALS of test_reliability (default 20)
#   --crash-points N      ETL_CRASH_RANDOM_POINTS of test_crash_points (default 60)
#   --crash-items N       ETL_CRASH_ITEMS (default 6000)
#   --soak N              ETL_SOAK_INVOCATIONS of test_soak (default 10000)
#   --only LIST           comma list of: fuzz,reliability,crash,soak,retry (default all)
# Needs what scripts/test.sh installs and builds; it builds dist/bootstrap if missing. Logs go to
# build/proofs/<name>.log. Exits non-zero when any proof fails.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ETL_ROOT"

fuzz_seconds=300
fuzz_parallel=1
overlap_trials=20
crash_points=60
crash_items=6000
soak=10000
only="fuzz,reliability,crash,soak,retry"
while [ $# -gt 0 ]; do
  case "$1" in
    --fuzz-seconds) fuzz_seconds="$2"; shift 2 ;;
    --fuzz-parallel) fuzz_parallel="$2"; shift 2 ;;
    --overlap-trials) overlap_trials="$2"; shift 2 ;;
    --crash-points) crash_points="$2"; shift 2 ;;
    --crash-items) crash_items="$2"; shift 2 ;;
    --soak) soak="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
for n in "$fuzz_seconds" "$fuzz_parallel" "$overlap_trials" "$crash_points" "$crash_items" "$soak"; do
  [[ "$n" =~ ^[0-9]+$ ]] || die "options take whole numbers, not '$n'"
done
wanted() { [[ ",$only," == *",$1,"* ]]; }

ensure_build_packages
ensure_node_modules
ensure_awscli
ensure_python_tools
[ -x dist/bootstrap ] || scripts/build-static.sh
export ETL_BOOTSTRAP="$ETL_ROOT/dist/bootstrap"

out=build/proofs
mkdir -p "$out"
rows=()
failed=0

# run NAME WHAT COMMAND...: runs it with its output in $out/NAME.log; sets rc and secs.
run() {
  local name="$1" what="$2"
  shift 2
  log "$name: $what (log: $out/$name.log)"
  local t0=$SECONDS
  rc=0
  "$@" >"$out/$name.log" 2>&1 || rc=$?
  secs=$((SECONDS - t0))
  [ "$rc" -eq 0 ] || { failed=1; log "$name: FAILED (exit $rc); tail of $out/$name.log:"; tail -n 25 "$out/$name.log" >&2; }
}

# row NAME WHAT FIGURES: one line of the summary table.
row() {
  local verdict=pass
  [ "$rc" -eq 0 ] || verdict=FAIL
  rows+=("$(printf '%-12s %-44s %-5s %6ss  %s' "$1" "$2" "$verdict" "$secs" "$3")")
}

py=python3
it=tests/integration

if wanted fuzz && [ "$fuzz_seconds" -gt 0 ]; then
  run fuzz "8 parsers x ${fuzz_seconds}s" \
    scripts/fuzz.sh --seconds "$fuzz_seconds" --parallel "$fuzz_parallel"
  execs=$(awk '$2 == "execs" { s += $3 } END { print s + 0 }' "$out/fuzz.log")
  crashes=$(grep -c ' CRASH ' "$out/fuzz.log" || true)
  row fuzz "libFuzzer, 8 targets x ${fuzz_seconds}s" "$execs executions, $crashes crashes"
fi

if wanted reliability; then
  run reliability "ETL_OVERLAP_TRIALS=$overlap_trials" \
    env ETL_OVERLAP_TRIALS="$overlap_trials" "$py" "$it/test_reliability.py"
  overlap=$(sed -n 's/^overlap: //p' "$out/reliability.log" | tail -n 1)
  short=$(sed -n 's/^1-second timeout: //p' "$out/reliability.log" | tail -n 1)
  row reliability "overlapping segments; 1 s timeouts" "${overlap:-?}; ${short:-?}"
fi

if wanted crash; then
  run crash "ETL_CRASH_RANDOM_POINTS=$crash_points ETL_CRASH_ITEMS=$crash_items" \
    env ETL_CRASH_RANDOM_POINTS="$crash_points" ETL_CRASH_ITEMS="$crash_items" \
    "$py" "$it/test_crash_points.py"
  figures=$(grep -E '^  [0-9]+ kills, ' "$out/crash.log" | tail -n 1 | sed 's/^ *//')
  row crash "kill -9: every request kind + $crash_points random" "${figures:-?}"
fi

if wanted soak; then
  run soak "ETL_SOAK_INVOCATIONS=$soak" env ETL_SOAK_INVOCATIONS="$soak" "$py" "$it/test_soak.py"
  figures=$(sed -n 's/^ *SOAK //p' "$out/soak.log" | tail -n 1)
  row soak "$soak warm invocations, one process" "${figures:-?}"
fi

if wanted retry; then
  run retry "every request kind under every fault" "$py" "$it/test_retry_faults.py"
  figures=$(grep -E '^setup .* runs in ' "$out/retry.log" | tail -n 1 | sed 's/; faults.*//')
  row retry "resets, 500, 503 on every request kind" "${figures:-?}"
fi

printf '\n%-12s %-44s %-5s %7s  %s\n' proof "what ran" "" time figures
for r in "${rows[@]}"; do
  printf '%s\n' "$r"
done
exit "$failed"
