#!/usr/bin/env bash
# Builds twinslot's libFuzzer targets (Fuzz/, compiled with -sanitize=fuzzer,address) and runs
# each one for SECONDS seconds (per target, not in total; default 60) on its seed corpus
# fixtures/fuzz/<target>/, with its dictionary (Fuzz/dicts/) and a memory cap. Prints a table
# (target, executions, exec/s, corpus size, findings) and exits 1 if any target found a crash,
# a leak, a timeout or an out-of-memory: each reproducer is kept under
# .build/fuzz/artifacts/<target>/ and its path printed (re-run one with
# `Fuzz/.build/release/fuzz-<target> PATH`). New corpus entries go to .build/fuzz/corpus/, never
# into git; `FUZZ_MERGE=1` instead minimizes .build/fuzz/corpus/<target> plus the seeds into
# fixtures/fuzz/<target>/ (libFuzzer's -merge=1).
#
# Usage: scripts/fuzz.sh [SECONDS]
#   FUZZ_JOBS=N       targets run at a time (default 2; the machine has 2 cores)
#   FUZZ_TARGETS="a b" only these targets (names as in Fuzz/Package.swift, without "fuzz-")
#   FUZZ_RSS_MB=N     libFuzzer's -rss_limit_mb (default 2048)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seconds=${1:-60}
jobs=${FUZZ_JOBS:-2}
rss=${FUZZ_RSS_MB:-2048}
all="bundle swu swdescription systemtoml grubenv ubootenv journal ddi"
targets=${FUZZ_TARGETS:-$all}
out=$root/.build/fuzz
mkdir -p "$out"

echo "== fuzz build (Fuzz/, -sanitize=fuzzer,address)"
# One -Xswiftc with both sanitizers: swift-driver keeps only the last of several -sanitize=
# options, so SwiftPM's `--sanitize fuzzer --sanitize address` compiles without coverage.
swift build --package-path Fuzz -c release -Xswiftc -sanitize=fuzzer,address 2>&1 \
    | grep -E 'error:|Compiling|Build complete' | grep -v '^\[.*Compiling' || true
bin=$root/Fuzz/.build/release
for t in $targets; do [ -x "$bin/fuzz-$t" ] || { echo "fuzz.sh: fuzz-$t was not built" >&2; exit 1; }; done

# The journal and U-Boot targets write their inputs as files: on tmpfs when there is one.
scratch=$(mktemp -d "$( [ -w /dev/shm ] && echo /dev/shm || echo "${TMPDIR:-/tmp}")/twinslot-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
export SWIFT_BACKTRACE=enable=no TWINSLOT_FUZZ_KEYRING=$root/fixtures/fuzz/keyring.pem
# Leaks inside Debian's libraries that twinslot cannot free (each argued in the file).
export LSAN_OPTIONS=suppressions=$root/Fuzz/lsan.supp:print_suppressions=0

run_one() {
    local t=$1 corpus=$out/corpus/$1 artifacts=$out/artifacts/$1 log=$out/$1.log
    mkdir -p "$corpus" "$artifacts" "$scratch/$t"
    local dict=() ; [ -f "Fuzz/dicts/$t.dict" ] && dict=(-dict="Fuzz/dicts/$t.dict")
    if [ "${FUZZ_MERGE:-0}" = 1 ]; then
        local merged=$scratch/$t/merged && mkdir -p "$merged"
        TMPDIR=$scratch/$t "$bin/fuzz-$t" -merge=1 -rss_limit_mb="$rss" "$merged" "fixtures/fuzz/$t" "$corpus" \
            >"$log" 2>&1
        rm -rf "fixtures/fuzz/$t" && mkdir -p "fixtures/fuzz/$t" && cp "$merged"/* "fixtures/fuzz/$t/"
        return 0
    fi
    # -timeout: one input taking 10 s is a finding; -max_len: seeds are a few KB.
    TMPDIR=$scratch/$t "$bin/fuzz-$t" "$corpus" "fixtures/fuzz/$t" "${dict[@]}" -max_total_time="$seconds" \
        -rss_limit_mb="$rss" -timeout=10 -max_len=16384 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" >"$log" 2>&1 || true
}

touch "$out/.run-start"
running=0
for t in $targets; do
    run_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then wait -n || true; running=$((running - 1)); fi
done
wait
[ "${FUZZ_MERGE:-0}" = 1 ] && { du -sh fixtures/fuzz/*/ ; exit 0; }

printf '%-15s %12s %8s %8s %9s\n' target executions exec/s corpus findings
failed=0
for t in $targets; do
    log=$out/$t.log
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1 || true)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    corpus=$(grep -oE '(DONE|pulse|NEW|REDUCE|INITED) +cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -1 | awk '{print $NF}' || true)
    findings=$(find "$out/artifacts/$t" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
        -o -name 'oom-*' -o -name 'slow-unit-*' \) -newer "$out/.run-start" 2>/dev/null | wc -l)
    # A target that died before its statistics (a crash at start-up) counts as a finding too.
    if [ -z "$execs" ] || grep -qE '^==[0-9]+==ERROR|^SUMMARY: |Fatal error|deadly signal' "$log"; then
        [ "$findings" -eq 0 ] && findings=1
    fi
    printf '%-15s %12s %8s %8s %9s\n' "$t" "${execs:-?}" "${rate:-?}" "${corpus:-?}" "$findings"
    [ "$findings" -eq 0 ] && continue
    failed=1
    grep -E 'Fatal error|ERROR: |SUMMARY: ' "$log" | head -3 | sed "s/^/    $t: /"
    find "$out/artifacts/$t" -type f -newer "$out/.run-start" | sed "s/^/    reproducer: /"
    echo "    log: $log"
done
exit "$failed"
