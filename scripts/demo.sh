#!/usr/bin/env bash
# The main job, from a fresh clone: set up, build, and tell the update story on a simulated device.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
swift build -c release --static-swift-stdlib --product twinslot >/tmp/twinslot-build.log 2>&1 || { cat /tmp/twinslot-build.log; exit 1; }
bin=.build/release/twinslot
work=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "A test PKI (root CA, intermediate, code-signing signer), made with openssl"
bash scripts/make-test-pki.sh "$work/pki" >/dev/null
ls "$work/pki" | grep -v key | tr '\n' ' '; echo

step "A 32 MiB root filesystem image and an apps directory"
head -c 16M /dev/urandom > "$work/rootfs.img"
(yes "twinslot demo root filesystem line" || true) | head -c 16M >> "$work/rootfs.img"
mkdir -p "$work/apps/bin"
printf '#!/bin/sh\necho hello from app v2\n' > "$work/apps/bin/hello"; chmod +x "$work/apps/bin/hello"

step "twinslot bundle create"
$bin bundle create --out "$work/update.tsb" --compatible demo-gateway --version 2.0.0 --security-version 2 \
  --image rootfs="$work/rootfs.img" --image apps="$work/apps" \
  --cert "$work/pki/signer.pem" --key "$work/pki/signer.key" --chain "$work/pki/signer-chain.pem"

step "twinslot bundle info"
$bin bundle info "$work/update.tsb" --keyring "$work/pki/keyring.pem"

step "twinslot bundle verify"
$bin bundle verify "$work/update.tsb" --keyring "$work/pki/keyring.pem"

step "The same signature checks out with the openssl CLI"
tar -xOf "$work/update.tsb" manifest.json > "$work/manifest.json"
tar -xOf "$work/update.tsb" manifest.sig > "$work/manifest.sig"
openssl cms -verify -binary -inform DER -in "$work/manifest.sig" -content "$work/manifest.json" \
  -CAfile "$work/pki/keyring.pem" -purpose any -out /dev/null

step "A tampered bundle is refused (one byte of the rootfs image flipped)"
cp "$work/update.tsb" "$work/tampered.tsb"
offset=$(( $(stat -c %s "$work/tampered.tsb") / 2 ))
printf '\xff' | dd of="$work/tampered.tsb" bs=1 seek="$offset" conv=notrunc status=none
set +e
$bin bundle verify "$work/tampered.tsb" --keyring "$work/pki/keyring.pem"
code=$?
set -e
echo "exit code $code (10 = bad bundle; docs/cli.md lists them all)"

step "A bundle signed by an unrelated CA is refused"
$bin bundle sign "$work/update.tsb" --cert "$work/pki/other-signer.pem" --key "$work/pki/other-signer.key" --out "$work/foreign.tsb" >/dev/null
set +e
$bin bundle verify "$work/foreign.tsb" --keyring "$work/pki/keyring.pem"
code=$?
set -e
echo "exit code $code (11 = untrusted signature)"

step "twinslot bundle extract writes only verified images"
$bin bundle extract "$work/update.tsb" --keyring "$work/pki/keyring.pem" --dir "$work/out"
cmp "$work/rootfs.img" "$work/out/rootfs.img" && echo "rootfs.img matches the input byte for byte"

step "A simulated device: rootfs and firmware raw slots, an apps directory slot, GRUB's scheme"
$bin sim init "$work/device" --keyring "$work/pki/keyring.pem" --compatible demo-gateway
export TWINSLOT_CONFIG="$work/device/system.toml"
$bin status

step "Install 2.0: streamed into group B, read back, then B is the one-shot trial"
head -c 4M /dev/urandom > "$work/firmware.img"
$bin bundle create --out "$work/v2.tsb" --compatible demo-gateway --version 2.0.0 --security-version 2 \
  --image rootfs="$work/rootfs.img" --image firmware="$work/firmware.img" --image apps="$work/apps" \
  --cert "$work/pki/signer.pem" --key "$work/pki/signer.key" --chain "$work/pki/signer-chain.pem" >/dev/null
$bin install "$work/v2.tsb"

step "Reboot: the bootloader tries B once; twinslot boot checks it and commits"
$bin sim reboot "$work/device"
$bin status
echo "apps/current -> $(readlink "$work/device/apps/current")"

step "Install 3.0, whose kernel never comes up: the bootloader falls back to B by itself"
printf '#!/bin/sh\necho hello from app v3\n' > "$work/apps/bin/hello"
$bin bundle create --out "$work/v3.tsb" --compatible demo-gateway --version 3.0.0 --security-version 3 \
  --image rootfs="$work/rootfs.img" --image firmware="$work/firmware.img" --image apps="$work/apps" \
  --cert "$work/pki/signer.pem" --key "$work/pki/signer.key" --chain "$work/pki/signer-chain.pem" >/dev/null
$bin install --quiet "$work/v3.tsb"
$bin sim reboot "$work/device" --fail-boot

step "Install 3.1, whose app fails its own self-test: the boot service rolls back by itself"
printf '#!/bin/sh\necho "self-test: cannot reach the sensor bus"\nexit 1\n' > "$work/apps/bin/selftest"
chmod +x "$work/apps/bin/selftest"
printf '#!/bin/sh\necho "hook: $TWINSLOT_HOOK ${TWINSLOT_VERSION:-} ${TWINSLOT_REASON:-}" >> "%s/hooks.log"\n' "$work" \
  > "$work/device/hooks.d/50-log"
chmod +x "$work/device/hooks.d/50-log"
$bin bundle create --out "$work/v31.tsb" --compatible demo-gateway --version 3.1.0 --security-version 3 \
  --image rootfs="$work/rootfs.img" --image firmware="$work/firmware.img" --image apps="$work/apps" \
  --cert "$work/pki/signer.pem" --key "$work/pki/signer.key" --chain "$work/pki/signer-chain.pem" >/dev/null
$bin install --quiet "$work/v31.tsb"
$bin sim reboot "$work/device"
echo "the device asked for a reboot: $(wc -l < "$work/device/reboot-requests") request(s) in reboot-requests"
$bin sim reboot "$work/device"
echo "hooks that ran:"; sed 's/^/  /' "$work/hooks.log"

step "A power cut in the middle of an install: the process is killed while it writes the rootfs"
rm -f "$work/apps/bin/selftest"
$bin bundle create --out "$work/v4.tsb" --compatible demo-gateway --version 4.0.0 --security-version 4 \
  --image rootfs="$work/rootfs.img" --image firmware="$work/firmware.img" --image apps="$work/apps" \
  --cert "$work/pki/signer.pem" --key "$work/pki/signer.key" --chain "$work/pki/signer-chain.pem" >/dev/null
# The bundle reaches the installer through a pipe, and only its first half does: the install is
# then in the middle of the rootfs image, waiting for bytes, when SIGKILL ends it (no test hook:
# the same as pulling the plug at that instant).
mkfifo "$work/pipe"
$bin install --quiet "$work/pipe" &
pid=$!
exec 3>"$work/pipe"
head -c "$(( $(stat -c %s "$work/v4.tsb") / 2 ))" "$work/v4.tsb" >&3
sleep 1
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
exec 3>&-
echo "killed install $pid with SIGKILL halfway through the bundle"
$bin sim reboot "$work/device"
$bin status

step "Install 4.0 again (group A is rewritten: nothing of it was staged), reboot, commit"
$bin install "$work/v4.tsb"
$bin sim reboot "$work/device"

step "An apps-only update (a partial bundle): the rest of the target group is copied from the running one"
printf '#!/bin/sh\necho hello from app v4.1\n' > "$work/apps/bin/hello"
$bin bundle create --out "$work/v41-apps.tsb" --compatible demo-gateway --version 4.1.0 --security-version 4 \
  --image apps="$work/apps" \
  --cert "$work/pki/signer.pem" --key "$work/pki/signer.key" --chain "$work/pki/signer-chain.pem" >/dev/null
echo "bundle: $(du -h "$work/v41-apps.tsb" | cut -f1) ($(du -h "$work/v4.tsb" | cut -f1) with every image)"
$bin install --dry-run "$work/v41-apps.tsb"
$bin install "$work/v41-apps.tsb"
$bin sim reboot "$work/device"
"$work/device/apps/current/bin/hello"

step "A downgrade is refused: security version 1 is below the installed 4"
$bin bundle create --out "$work/v1.tsb" --compatible demo-gateway --version 1.0.0 --security-version 1 \
  --image rootfs="$work/rootfs.img" --image firmware="$work/firmware.img" --image apps="$work/apps" \
  --cert "$work/pki/signer.pem" --key "$work/pki/signer.key" --chain "$work/pki/signer-chain.pem" >/dev/null
set +e
$bin install "$work/v1.tsb"
code=$?
set -e
echo "exit code $code (13 = downgrade refused)"

step "What the device recorded: reports and Prometheus metrics"
ls "$work/device/data/reports" | sed 's/^/  /'
grep -E "^twinslot_(updates_total|slot_version_info\{slot_class=\"rootfs|installed_security|booted)" "$work/device/data/twinslot.prom" | sed 's/^/  /'

step "Where the device stands"
$bin status
echo
echo "reports:  $work/device/data/reports/ (JSON, one per operation; the newest is in 'status --json')"
echo "metrics:  $work/device/data/twinslot.prom (node_exporter textfile collector)"
echo "(the demo directory is removed at exit; run with KEEP=1 to keep it)"
echo "the power-cut proof for every durable write: bash scripts/crash-report.sh"
