#!/usr/bin/env bash
# The shipped binary carries no test-only hook: builds it the way scripts/bench.sh and the Debian
# package do (release, static Swift stdlib) and fails if it contains the name of any hook's
# switch. A release build takes minutes, so this runs once in CI (scripts/test.sh), not per test.
# The debug binary, when built, must contain them: proof the check looks for the right strings.
set -euo pipefail
cd "$(dirname "$0")/.."
hooks=(TWINSLOT_TEST_STOP_AFTER afterDurableAppend)

swift build -c release --static-swift-stdlib --product twinslot >/tmp/twinslot-release-build.log 2>&1 ||
    { cat /tmp/twinslot-release-build.log; exit 1; }
release=.build/release/twinslot
status=0
for hook in "${hooks[@]}"; do
    count=$(grep -c -a -- "$hook" "$release" || true)
    if [ "$count" != 0 ]; then
        echo "FAIL: the release binary $release contains the test hook $hook ($count lines)"
        status=1
    fi
done
if [ -x .build/debug/twinslot ]; then
    for hook in "${hooks[@]}"; do
        if ! grep -q -a -- "$hook" .build/debug/twinslot; then
            echo "FAIL: the debug binary lacks $hook: this check would not see the hook"
            status=1
        fi
    done
fi
[ "$status" = 0 ] && echo "release binary free of test hooks: ${hooks[*]}"
exit "$status"
