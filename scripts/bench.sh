#!/usr/bin/env bash
# Measures twinslot against this machine's limits, in one run, side by side. Nothing here is a
# pass/fail gate: it prints what it measured. Usage: scripts/bench.sh [SIZE_MIB] [REPEATS]
# BENCH_SECTIONS picks what runs (default "base url"): base, the pipeline against the machine's
# limits; url, installs from nginx, python's http.server and goosebit against the file install
# (scripts/bench-url.sh, URL_RSS_SIZES for its RSS sweep, default "2048").
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-1024}
repeats=${2:-3}
bash scripts/setup.sh >/dev/null
# The binary a device runs: the Swift runtime linked in (docs/operations.md).
swift build -c release --static-swift-stdlib --product twinslot >/tmp/twinslot-build.log 2>&1 || { cat /tmp/twinslot-build.log; exit 1; }
bin=$PWD/.build/release/twinslot
cache=${TWINSLOT_BENCH_CACHE:-$PWD/.build/bench}
mkdir -p "$cache"
bash scripts/make-test-pki.sh "$cache/pki" >/dev/null

image=$cache/rootfs-${size_mib}M.img
if [ ! -f "$image" ]; then
  echo "making a deterministic ${size_mib} MiB rootfs-like image (cached in $cache)"
  python3 - "$image" "$size_mib" <<'PY'
import random, sys
path, mib = sys.argv[1], int(sys.argv[2])
rng = random.Random(20261128)
words = [b"lib", b"usr", b"bin", b"share", b"config", b"systemd", b"python3", b"x86_64", b"locale", b"doc"]
with open(path, "wb") as f:
    for i in range(mib):
        # About 40 % incompressible bytes (binaries, compressed assets) and 60 % text-like ones,
        # which zstd -3 shrinks to roughly 40 % overall, as it does a real root file system.
        out = bytearray(rng.randbytes(400 * 1024))
        while len(out) < 1 << 20:
            out += b"/%s/%s/%d %s\n" % (rng.choice(words), rng.choice(words), rng.randrange(1 << 20), rng.choice(words) * rng.randrange(1, 4))
        f.write(out[: 1 << 20])
PY
fi
zst=$image.zst
[ -f "$zst" ] || zstd -q -3 -T0 -f "$image" -o "$zst"
bundle=$cache/rootfs-${size_mib}M.tsb
if [ ! -f "$bundle" ]; then
  "$bin" bundle create --out "$bundle" --compatible bench --version 1 --image rootfs="$image" \
    --cert "$cache/pki/signer.pem" --key "$cache/pki/signer.key" --chain "$cache/pki/signer-chain.pem" >/dev/null
fi

# A bundle for the simulated device (it has three slot classes), and the same image as a .swu
# for SWUpdate, signed with the same key.
mkdir -p "$cache/apps" && echo bench > "$cache/apps/VERSION"
head -c 65536 /dev/zero > "$cache/firmware.img"
devbundle=$cache/device-${size_mib}M.tsb
if [ ! -f "$devbundle" ]; then
  "$bin" bundle create --out "$devbundle" --compatible twinslot-sim --version 1 --image rootfs="$image" \
    --image firmware="$cache/firmware.img" --image apps="$cache/apps" \
    --cert "$cache/pki/signer.pem" --key "$cache/pki/signer.key" --chain "$cache/pki/signer-chain.pem" >/dev/null
fi
swu=$cache/rootfs-${size_mib}M.swu
if [ ! -f "$swu" ]; then
  swudir=$(mktemp -d)
  cp "$zst" "$swudir/rootfs.img.zst"
  cat > "$swudir/sw-description" <<SWU
software = {
  version = "1.0.0";
  hardware-compatibility = [ "1.0" ];
  images: ( {
    filename = "rootfs.img.zst";
    type = "raw";
    device = "$cache/swupdate-slot.img";
    compressed = "zstd";
    sha256 = "$(sha256sum "$zst" | cut -d' ' -f1)";
    installed-directly = true;
  } );
}
SWU
  openssl cms -sign -binary -outform DER -in "$swudir/sw-description" -signer "$cache/pki/signer.pem" \
    -inkey "$cache/pki/signer.key" -certfile "$cache/pki/signer-chain.pem" -out "$swudir/sw-description.sig"
  (cd "$swudir" && printf 'sw-description\nsw-description.sig\nrootfs.img.zst\n' | cpio -o -H crc --quiet) > "$swu"
  rm -rf "$swudir"
fi
# SWUpdate verifies the signer against --ca-path only (not the CMS's intermediates).
cat "$cache/pki/root-ca.pem" "$cache/pki/intermediate.pem" > "$cache/swupdate-ca.pem"

drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; }

# A fresh simulated device for each install, so every run writes the whole image.
fresh_device() {
  rm -rf "$cache/device"
  "$bin" sim init "$cache/device" --keyring "$cache/pki/keyring.pem" >/dev/null
}

# median of N timings of a shell command, in seconds
export -f drop_caches fresh_device
export bin cache
measure() {
  local times=()
  for _ in $(seq "$repeats"); do
    local start end
    [ -n "${2:-}" ] && bash -c "$2" >/dev/null 2>&1
    start=$(date +%s.%N)
    bash -c "$1" >/dev/null 2>&1
    end=$(date +%s.%N)
    times+=("$(echo "$end - $start" | bc -l)")
  done
  printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

# Peak memory of a command, in KiB.
rss() { /usr/bin/time -f %M bash -c "$1" 2>&1 >/dev/null | tail -1; }
sections=" ${BENCH_SECTIONS:-base url} "

if [[ $sections == *" base "* ]]; then
declare -A seconds
# name @ command @ setup run before each timing (not timed)
rows=(
  "write + fsync (dd)@dd if='$image' of='$cache/dd.img' bs=4M conv=fsync status=none@rm -f '$cache/dd.img'"
  "cold read-back + sha256@openssl dgst -sha256 '$cache/dd.img'@drop_caches"
  "twinslot install@'$bin' install '$devbundle' --config '$cache/device/system.toml'@fresh_device; drop_caches"
  "swupdate -i (raw, CMS)@swupdate -H board:1.0 --ca-path '$cache/swupdate-ca.pem' --cert-purpose codeSigning -i '$swu'@: > '$cache/swupdate-slot.img'; drop_caches"

  "zstd-decode@zstd -dc '$zst' > /dev/null"
  "sha256-openssl@openssl dgst -sha256 '$image'"
  "decode+hash (zstd|openssl)@zstd -dc '$zst' | openssl dgst -sha256"
  "twinslot bundle verify@'$bin' bundle verify '$bundle' --keyring '$cache/pki/keyring.pem'"
  "twinslot bundle create@'$bin' bundle create --out '$cache/recreated.tsb' --compatible bench --version 1 --image rootfs='$image' --cert '$cache/pki/signer.pem' --key '$cache/pki/signer.key'"
  "zstd -3 -T0 compress@zstd -q -3 -T0 -f '$image' -o '$cache/recompressed.zst'"
)
printf '\n%-30s %10s %10s\n' "what (${size_mib} MiB image, median of $repeats)" "seconds" "MB/s"
for row in "${rows[@]}"; do
  name=${row%%@*}
  rest=${row#*@}
  cmd=${rest%%@*}
  setup=""
  [ "$rest" != "$cmd" ] && setup=${rest#*@}
  s=$(measure "$cmd" "$setup")
  seconds[$name]=$s
  printf '%-30s %10.3f %10.0f\n' "$name" "$s" "$(echo "$size_mib * 1.048576 / $s" | bc -l)"
done
rm -f "$cache/recreated.tsb" "$cache/recompressed.zst" "$cache/dd.img"

# Peak memory and the flip, measured on one more install each.
fresh_device
flip=$("$bin" install "$devbundle" --config "$cache/device/system.toml" --json | tail -1 | python3 -c 'import json,sys; print("%.1f" % (1000 * json.load(sys.stdin)["flip_seconds"]))')
fresh_device
rss_twinslot=$(rss "'$bin' install '$devbundle' --config '$cache/device/system.toml'")
: > "$cache/swupdate-slot.img"
rss_swupdate=$(rss "swupdate -H board:1.0 --ca-path '$cache/swupdate-ca.pem' --cert-purpose codeSigning -i '$swu'")
printf '\n%-30s %10s\n' "peak RSS (${size_mib} MiB image)" "MiB"
printf '%-30s %10.1f\n' "twinslot install" "$(echo "$rss_twinslot / 1024" | bc -l)"
printf '%-30s %10.1f\n' "swupdate -i" "$(echo "$rss_swupdate / 1024" | bc -l)"
printf '%-30s %10s ms\n' "flip (last read-back -> trial durable)" "$flip"

# Peak RSS of twinslot install across image sizes: flat means memory does not grow with the image.
if [ -n "${RSS_SIZES:-}" ]; then
  printf '\n%-30s %10s\n' "peak RSS by image size" "MiB"
  for mib in $RSS_SIZES; do
    big=$cache/sweep-${mib}M.tsb
    if [ ! -f "$big" ]; then
      # The first 256 MiB of the rootfs-like image, then zeros: sparse-friendly, quick to make.
      head -c $((256 << 20)) "$image" > "$cache/sweep.img"
      [ "$mib" -gt 256 ] && head -c $(((mib - 256) << 20)) /dev/zero >> "$cache/sweep.img"
      "$bin" bundle create --out "$big" --compatible twinslot-sim --version 1 --image rootfs="$cache/sweep.img" \
        --image firmware="$cache/firmware.img" --image apps="$cache/apps" \
        --cert "$cache/pki/signer.pem" --key "$cache/pki/signer.key" --chain "$cache/pki/signer-chain.pem" >/dev/null
      rm -f "$cache/sweep.img"
    fi
    fresh_device
    printf '%-30s %10.1f\n' "install ${mib} MiB" "$(echo "$(rss "'$bin' install '$big' --config '$cache/device/system.toml'") / 1024" | bc -l)"
  done
fi
rm -rf "$cache/device"

echo
ratio() { echo "$1 / $2" | bc -l; }
printf 'verify speed / (zstd|openssl) speed: %.2f (target >= 0.90)\n' \
  "$(ratio "${seconds[decode+hash (zstd|openssl)]}" "${seconds[twinslot bundle verify]}")"
limit=$(echo "a=${seconds[decode+hash (zstd|openssl)]}; b=${seconds[write + fsync (dd)]}; if (a > b) a else b" | bc -l)
printf 'install / (slowest stage + cold read-back): %.2f (target <= 1.15)\n' \
  "$(ratio "${seconds[twinslot install]}" "$(echo "$limit + ${seconds[cold read-back + sha256]}" | bc -l)")"
printf 'install speed / swupdate speed:      %.2f (target >= 1.5)\n' \
  "$(ratio "${seconds[swupdate -i (raw, CMS)]}" "${seconds[twinslot install]}")"
printf 'create speed / (zstd -T0) speed:     %.2f\n' \
  "$(ratio "${seconds[zstd -3 -T0 compress]}" "${seconds[twinslot bundle create]}")"
fi

if [[ $sections == *" url "* ]]; then . scripts/bench-url.sh; fi
