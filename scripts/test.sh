#!/usr/bin/env bash
# The whole test suite, from a fresh clone: set up, check formatting, build once, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "== format check"
swift format lint --strict --recursive Sources Tests Package.swift

echo "== build"
swift build --build-tests

echo "== tests"
swift test --skip-build --parallel --num-workers 2 2>&1 | tee .build/test-output.txt

echo "== release binary without test hooks"
bash scripts/check-release-hooks.sh

echo "== the demo (README's first command; the release binary just built, so about a minute)"
timeout 900 bash scripts/demo.sh > .build/demo-output.txt 2>&1 || { cat .build/demo-output.txt; echo "demo failed"; exit 1; }
grep -q "hello from app v4.1" .build/demo-output.txt || { cat .build/demo-output.txt; echo "demo: the apps-only update did not run"; exit 1; }
echo "demo ran to its end ($(grep -c '^.\[1m== ' .build/demo-output.txt) steps)"

echo "== Debian package (lintian; install, upgrade, remove, purge in a throwaway bookworm root)"
bash scripts/package-test.sh

echo "== fuzz (every libFuzzer target for 20 s, two at a time: about 1.5 min after its build)"
bash scripts/fuzz.sh 20

echo "== VM rig (QEMU + OVMF + GRUB EFI + systemd, the real stack)"
bash scripts/vm-test.sh
