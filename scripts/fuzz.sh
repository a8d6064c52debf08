#!/usr/bin/env bash
# Builds the libFuzzer targets (Tests/Fuzz, with AddressSanitizer) and runs each for FUZZ_SECONDS (default 60).
# Seeds come from Tests/Fuzz/Corpus/<target> (read only); what the fuzzer finds goes to .build-fuzz/corpus/<target>,
# kept between runs. A property violation or sanitizer report stops the target, leaves the input under
# .build-fuzz/artifacts/ and fails the run. FUZZ_TARGETS limits the run to some targets.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
scratch=$PWD/.build-fuzz
targets=${FUZZ_TARGETS:-"FuzzRequestParser FuzzResponseParser FuzzSSEAnalyzer FuzzUsageReaders FuzzInflater FuzzRecordAssembler"}

# Instrumented for libFuzzer and AddressSanitizer, Swift and C (llhttp) alike. libFuzzer comes without its main():
# SwiftPM gives every executable a main of its own, which hands over to libFuzzer (FuzzSupport/FuzzDriver.swift).
runtime=$(ls "$(dirname "$(readlink -f "$(command -v swift)")")"/../lib/clang/*/lib/linux/libclang_rt.fuzzer_no_main-x86_64.a | head -1)
(cd Tests/Fuzz && swift build -c release --scratch-path "$scratch" \
   -Xswiftc -sanitize=address -Xswiftc -sanitize-coverage=edge,trace-cmp,inline-8bit-counters,pc-table \
   -Xswiftc -enable-testing -Xcc -fsanitize=fuzzer-no-link,address -Xlinker "$runtime" -Xlinker -lstdc++ 2>&1 \
   | grep -v "Cannot export local symbol '__asan_extra_spill_area'")

# Swift's own crash reporter gets in ASan's way (it reads other threads' stacks); libFuzzer reports instead.
export SWIFT_BACKTRACE=enable=no
failed=()
for target in $targets; do
  mkdir -p "$scratch/corpus/$target" "$scratch/artifacts"
  echo "== $target: ${seconds}s"
  if ! "$scratch/release/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len=16384 \
        -print_final_stats=1 -artifact_prefix="$scratch/artifacts/$target-" \
        "$scratch/corpus/$target" "Tests/Fuzz/Corpus/$target" > "$scratch/$target.log" 2>&1; then
    failed+=("$target")
    tail -40 "$scratch/$target.log"
  fi
  grep -E "^stat::number_of_executed_units|^stat::new_units_added|^stat::peak_rss_mb" "$scratch/$target.log" | tr '\n' ' ' || true
  echo
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failed: ${failed[*]} (inputs in $scratch/artifacts)" >&2
  exit 1
fi
echo "fuzz: ${seconds}s each, no property violated, no sanitizer report"
