#!/usr/bin/env bash
# Regenerates the raw seed inputs of the fuzz targets from real tools and a real simulated
# device, into OUTDIR/<target>/ (scripts/fuzz.sh -merge=1s them into fixtures/fuzz/<target>/):
# bundles made by `twinslot bundle create` on tiny images and signed by the test PKI
# (scripts/make-test-pki.sh; its root CA becomes fixtures/fuzz/keyring.pem, the keys are not
# kept), a .swu made by scripts/make-swu.sh, grubenv blocks made by grub-editenv, U-Boot
# environments made by mkenvimage (single and redundant), journals and snapshots from a
# simulated device's install-and-boot cycle, and DDI documents as fixtures/net/ddi-responder.py
# serves them. Usage: make-seeds.sh OUTDIR   (TWINSLOT: the twinslot binary to use)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:?usage: make-seeds.sh OUTDIR}" && cd "$1" && pwd)
twinslot=${TWINSLOT:-$root/.build/debug/twinslot}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sep=$'\n==twinslot-fuzz-file==\n'
mkdir -p "$out"/{bundle,swu,swdescription,systemtoml,grubenv,ubootenv,journal,ddi}

bash "$root/scripts/make-test-pki.sh" "$work/pki" >/dev/null
cp "$work/pki/keyring.pem" "$root/fixtures/fuzz/keyring.pem"
sign=(--cert "$work/pki/signer.pem" --key "$work/pki/signer.key" --chain "$work/pki/signer-chain.pem")

# Bundles: a raw image, a directory image (with a symlink), both; signed and unsigned.
printf 'tiny rootfs image\n' > "$work/rootfs.img"
mkdir -p "$work/apps/etc" && printf 'hello\n' > "$work/apps/etc/motd" && ln -s motd "$work/apps/etc/issue"
"$twinslot" bundle create --out "$out/bundle/raw.tsb" --compatible fuzz-board-1.0 --version 1.0.0 \
    --image rootfs="$work/rootfs.img" "${sign[@]}" >/dev/null
"$twinslot" bundle create --out "$out/bundle/dir.tsb" --compatible fuzz-board-1.0 --version 1.0.1 \
    --security-version 2 --image apps="$work/apps" "${sign[@]}" >/dev/null
printf 'tiny firmware\n' > "$work/firmware.img"
"$twinslot" bundle create --out "$out/bundle/device.tsb" --compatible fuzz-board-1.0 --version 1.1.0 \
    --image rootfs="$work/rootfs.img" --image firmware="$work/firmware.img" --image apps="$work/apps" \
    "${sign[@]}" >/dev/null
"$twinslot" bundle create --out "$out/bundle/both-unsigned.tsb" --compatible fuzz-board-1.0 --version 2.0.0 \
    --image rootfs="$work/rootfs.img" --image apps="$work/apps" --unsigned >/dev/null

# A .swu (raw image, zstd) signed by the same PKI; its sw-description is a seed of its own.
bash "$root/scripts/make-swu.sh" "$out/swu/update.swu" --version 1.2.3 --security-version 1 \
    --hardware 1.0 --board fuzz-board --image rootfs="$work/rootfs.img" "${sign[@]}" >/dev/null
bash "$root/scripts/make-swu.sh" "$out/swu/default-board.swu" --version 1.2.4 --hardware 1.0 \
    --image rootfs="$work/rootfs.img" "${sign[@]}" >/dev/null
cp "$out/swu/update.swu" "$out/bundle/update.swu"
(cd "$work" && cpio -i --quiet sw-description < "$out/swu/update.swu" && mv sw-description "$out/swdescription/board")
cat > "$out/swdescription/sets" <<'SWD'
software =
{
    version = "0.4.2";
    description = "two copies, a board section and links";
    hardware-compatibility: [ "1.0", "#RE:^2\\.[0-9]+$" ];
    twinslot-security-version = 3;
    stable = {
        copy1: { images: ( { filename = "rootfs.img.zst"; type = "raw"; device = "/dev/mmcblk0p2";
                             sha256 = "0000000000000000000000000000000000000000000000000000000000000000";
                             compressed = "zstd"; } ); };
        copy2: { images: ( { filename = "rootfs.img.zst"; type = "raw"; device = "mmcblk0p3";
                             sha256 = "0000000000000000000000000000000000000000000000000000000000000000";
                             compressed = "zstd"; },
                           { filename = "apps.tar"; type = "archive"; path = "/srv/apps-b";
                             sha256 = "1111111111111111111111111111111111111111111111111111111111111111"; } ); };
    };
    fuzz-board = { stable = { copy-2 = { ref = "#./../../stable/copy2"; }; }; };
};
SWD

# system.toml: the repository's device configurations and the simulator's.
cp "$root"/fixtures/configs/*.toml "$out/systemtoml/"
"$twinslot" sim init "$work/dev" --keyring "$work/pki/keyring.pem" --compatible fuzz-board-1.0 >/dev/null
cp "$work/dev/system.toml" "$out/systemtoml/sim.toml"

# Journal: the simulated device installs, boots the trial, commits; then the data directory.
export TWINSLOT_CONFIG=$work/dev/system.toml
"$twinslot" install "$out/bundle/device.tsb" >/dev/null
"$twinslot" sim reboot "$work/dev" >/dev/null
data=$(sed -n 's/^data-directory *= *"\(.*\)"/\1/p' "$work/dev/system.toml")
[ -n "$data" ] || data=$work/dev/data
part() { if [ -f "$1" ]; then cat "$1"; else printf '(absent)'; fi; }
{ part "$data/journal"; printf '%s' "$sep"; part "$data/journal.snapshot"; printf '%s' "$sep"
  part "$data/journal.snapshot.2"; } > "$out/journal/committed"
{ part "$data/journal"; printf '%s' "$sep"; printf '(absent)'; printf '%s' "$sep"; printf '(absent)'; } \
    > "$out/journal/no-snapshot"
[ -f "$data/grubenv" ] && cp "$data/grubenv" "$out/grubenv/sim"

# grubenv: grub-editenv's empty block and one with twinslot's variables.
grub-editenv "$out/grubenv/empty" create
grub-editenv "$out/grubenv/vars" create
grub-editenv "$out/grubenv/vars" set twinslot_primary=A twinslot_trial=B 'twinslot_note=a\b'

# U-Boot: mode byte (0 single, 1 redundant in one device, 2 redundant on two devices) + medium.
printf 'bootcmd=run twinslot_boot\ntwinslot_primary=A\ntwinslot_trial=\nbootcount=0\n' > "$work/env.txt"
mkenvimage -s 0x100 -o "$work/single.bin" "$work/env.txt"
mkenvimage -r -s 0x100 -o "$work/redund.bin" "$work/env.txt"
{ printf '\000'; cat "$work/single.bin"; } > "$out/ubootenv/single"
{ printf '\001'; cat "$work/redund.bin"; cat "$work/redund.bin"; } > "$out/ubootenv/redundant-one-device"
{ printf '\002'; cat "$work/redund.bin"; head -c 256 /dev/zero; } > "$out/ubootenv/redundant-two-devices"
printf '/dev/mmcblk0 0x3c0000 0x20000\n/dev/mmcblk0 0x3e0000 0x20000\n' > "$out/ubootenv/fw_env.config"

# DDI documents, shaped as fixtures/net/ddi-responder.py and goosebit serve them.
cat > "$out/ddi/base.json" <<'JSON'
{"config":{"polling":{"sleep":"00:05:00"}},"_links":{"deploymentBase":{"href":"http://127.0.0.1:8080/DEFAULT/controller/v1/dev/deploymentBase/7?c=1"},"configData":{"href":"http://127.0.0.1:8080/DEFAULT/controller/v1/dev/configData"}}}
JSON
cat > "$out/ddi/deployment.json" <<'JSON'
{"id":"7","deployment":{"download":"forced","update":"attempt","maintenanceWindow":"available","chunks":[{"part":"os","version":"1.0.1","name":"update","artifacts":[{"filename":"update.tsb","size":10240,"hashes":{"sha1":"da39a3ee5e6b4b0d3255bfef95601890afd80709","md5":"d41d8cd98f00b204e9800998ecf8427e","sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},"_links":{"download-http":{"href":"http://127.0.0.1:8080/download/update.tsb"}}}]}]}}
JSON
cat > "$out/ddi/cancel.json" <<'JSON'
{"id":"8","cancelAction":{"stopId":7}}
JSON
cat > "$out/ddi/agent.json" <<'JSON'
{"config_sent":{"hw_boardname":"fuzz-board"},"pending":{"action_id":"7","deployment_href":"http://127.0.0.1:8080/x","operation_id":"A1","version":"1.0.1"}}
JSON
echo "seeds in $out"
