#!/usr/bin/env bash
# Differential fuzzing of MiniJSON against FoundationEssentials' JSONDecoder
# (Sources/json-fuzz): libFuzzer with AddressSanitizer, for a bounded time.
#   scripts/check/fuzz-json.sh        # 60 s
#   scripts/check/fuzz-json.sh 600    # longer
# Starts from the committed seed corpus (Tests/JSONFuzzCorpus) and fails on
# any finding: the input is kept under .build-fuzz/findings/; add it to the
# corpus and as a unit test once understood. The random seed is fixed
# (FUZZ_SEED, default 1), so a run explores the same inputs in the same order
# wherever it runs; set another seed to explore elsewhere.
set -euo pipefail
cd "$(dirname "$0")/../.."
./scripts/lib/ensure-deps.sh
seconds=${1:-60}
# SwiftPM names an executable's entry `<module>_main`; the fuzz target starts
# libFuzzer's driver from there. lld links the libFuzzer runtime where gold fails.
swift build -c release --static-swift-stdlib --product json-fuzz --scratch-path .build-fuzz \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xswiftc -use-ld=lld
fuzzer="$(swift build -c release --static-swift-stdlib --scratch-path .build-fuzz --show-bin-path)/json-fuzz"
work=$(mktemp -d)
findings=.build-fuzz/findings
mkdir -p "$findings"
trap 'rm -rf "$work"' EXIT
status=0
"$fuzzer" -seed="${FUZZ_SEED:-1}" -max_total_time="$seconds" -max_len=4096 -timeout=10 -print_final_stats=1 \
  -artifact_prefix="$findings/" "$work" Tests/JSONFuzzCorpus >"$work/log" 2>&1 || status=$?
grep -E "^(finding:|==[0-9]+==ERROR|SUMMARY)" "$work/log" || true
execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$work/log")
rate=$(awk '/stat::average_exec_per_sec/ {print $2}' "$work/log")
echo "json fuzz: ${execs:-?} executions in ${seconds} s (${rate:-?} exec/s), corpus $(ls "$work" | wc -l) inputs"
if [ "$status" -ne 0 ]; then
  tail -n 30 "$work/log"
  echo "json fuzz: FAILED — findings in $findings/"
  exit 1
fi
