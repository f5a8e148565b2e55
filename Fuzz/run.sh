#!/usr/bin/env bash
# Builds the libFuzzer targets in .build-fuzz and runs each for FUZZ_SECONDS (default 60) on a
# scratch copy of its seed corpus (Fuzz/corpus/<Name>), so the repository's corpus is never
# changed. Exit status 1 if any target crashed; the crash inputs are listed at the end.
#   FUZZ_SECONDS=300 Fuzz/run.sh            all targets, five minutes each
#   Fuzz/run.sh Tokens Forms                some targets
#   .build/debug/FuzzTokens <crash file>    replay a crash without libFuzzer (ordinary build)
set -u
cd "$(dirname "$0")/.."

SWIFT=${SWIFT:-swift}
SECONDS_PER_TARGET=${FUZZ_SECONDS:-60}
SCRATCH=.build-fuzz
ALL_TARGETS="Routes RouteMatch RequestPath GatewayHeaders Forms Tokens Events HotelAPI TraceParent"
TARGETS=${*:-$ALL_TARGETS}
# ASan catches out-of-bounds access in the unsafe-pointer code (Base64URL, OpenSSL calls);
# --export-dynamic lets the target find libFuzzer's driver (SwiftPM supplies its own main).
BUILD_FLAGS=(--scratch-path "$SCRATCH" -c debug -Xswiftc -sanitize=fuzzer,address -Xlinker --export-dynamic)

build_start=$(date +%s)
for target in $TARGETS; do
  output=$(nice -n 10 "$SWIFT" build "${BUILD_FLAGS[@]}" --product "Fuzz$target" 2>&1)
  status=$?
  echo "$output" | grep -E "error|warning: .*(Sources|Fuzz)/|Build of product"
  if [ "$status" != 0 ]; then
    echo "fuzz: building Fuzz$target failed" >&2
    exit 1
  fi
done
echo "fuzz: built $(echo $TARGETS | wc -w) targets in $(( $(date +%s) - build_start )) s"

failed=""
ran=0
run_id=$(date -u +%Y%m%dT%H%M%S)
for target in $TARGETS; do
  # The working corpus grows across runs (libFuzzer adds what finds new coverage); crash inputs
  # go to a directory per run, so a listing shows only this run's.
  work="$SCRATCH/corpus/$target"
  crashes="$SCRATCH/crashes/$run_id/$target"
  mkdir -p "$work" "$crashes"
  cp -n Fuzz/corpus/"$target"/* "$work"/ 2>/dev/null
  echo "fuzz: Fuzz$target for ${SECONDS_PER_TARGET} s"
  ran=$((ran + 1))
  log="$SCRATCH/Fuzz$target.log"
  # Swift's own crash backtracer trips ASan with false reports; libFuzzer's stack trace is enough.
  if SWIFT_BACKTRACE=enable=no nice -n 10 "$SCRATCH/debug/Fuzz$target" "$work" \
      -max_total_time="$SECONDS_PER_TARGET" -max_len=8192 -timeout=10 -print_final_stats=1 \
      -artifact_prefix="$crashes/" >"$log" 2>&1; then
    grep -E "stat::number_of_executed_units|stat::new_units_added" "$log" | tr '\n' ' '
    grep -oE "cov: [0-9]+" "$log" | tail -1
  else
    echo "fuzz: Fuzz$target FAILED; its log is $log, the end of it:" >&2
    grep -E "Fatal error|runtime failure|ERROR: |#[0-9]+ .* in .*(Sources|Fuzz)/|Test unit written to" "$log" | head -12 >&2
    failed="$failed $target"
  fi
done

failures=$(echo $failed | wc -w)
if [ -n "$failed" ]; then
  echo "fuzz: $((ran - failures)) passed, $failures failed"
  echo "fuzz: crashes in:$failed. Inputs (replay with .build/debug/Fuzz<Name> <file>):" >&2
  for target in $failed; do ls -1 "$SCRATCH/crashes/$run_id/$target"/* >&2 2>/dev/null; done
  exit 1
fi
echo "fuzz: no crash"
echo "fuzz: $ran passed, 0 failed"
