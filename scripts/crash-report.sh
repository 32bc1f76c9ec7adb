#!/usr/bin/env bash
# Runs the crash harness (every durable operation of the update story as a crash point, under
# several persistence outcomes) and the process-kill tests, deeper than the test suite does,
# and prints one summary. Usage: scripts/crash-report.sh [RANDOM_SEEDS] [KILL_INSTANTS]
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-16}
instants=${2:-40}
bash scripts/setup.sh >/dev/null
swift build --build-tests >/tmp/twinslot-crash-build.log 2>&1 || { cat /tmp/twinslot-crash-build.log; exit 1; }
out=$(mktemp)
TWINSLOT_CRASH_SEEDS=$seeds TWINSLOT_KILL_INSTANTS=$instants \
  swift test --skip-build --filter "CrashHarnessTests/everyCrashPoint|KillTests" 2>&1 | tee "$out" \
  | grep -E "crash points:|kills:|✘|recorded an issue" || true
points=$(grep -vE "partial story" "$out" | grep -oE "crash points: [0-9]+" | grep -oE "[0-9]+" | head -1)
outcomes=$(grep -vE "partial story" "$out" | grep -oE "outcomes: [0-9]+" | grep -oE "[0-9]+" | head -1)
# Both stories print a "crash points: …, violations: M" line (the full story's has resumes before
# its violations).
harness_violations=$(grep -E "crash points:" "$out" | grep -oE "violations: [0-9]+" | grep -oE "[0-9]+" | paste -sd+ | bc)
partial_points=$(grep -oE "partial story: crash points: [0-9]+" "$out" | grep -oE "[0-9]+" | head -1)
kills=$(grep -oE "kills: [0-9]+" "$out" | grep -oE "[0-9]+" | paste -sd+ | bc)
kill_violations=$(grep -oE "kills: [0-9]+, violations: [0-9]+" "$out" | grep -oE "[0-9]+$" | paste -sd+ | bc)
failed=$(grep -cE "✘ Test .* failed" "$out" || true)
rm -f "$out"
echo
echo "harness: every durable operation of: install v2, trial boot, commit, install v3, failed health check, rollback"
echo "  and of the partial story (rootfs-only 1.1, commit, apps-only 1.2, commit): ${partial_points:-0} crash points"
echo "outcomes: nothing persisted, everything persisted, torn last write, $seeds random subsets"
echo "crash points: ${points:-0}, outcomes: ${outcomes:-0}, kills: ${kills:-0}, violations: $(( ${harness_violations:-0} + ${kill_violations:-0} + failed ))"
