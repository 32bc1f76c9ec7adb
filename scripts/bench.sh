#!/usr/bin/env bash
# Measures twinslot against this machine's limits, in one run, side by side. Nothing here is a
# pass/fail gate: it prints what it measured. Usage: scripts/bench.sh [SIZE_MIB] [REPEATS]
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-1024}
repeats=${2:-3}
bash scripts/setup.sh >/dev/null
swift build -c release --product twinslot >/tmp/twinslot-build.log 2>&1 || { cat /tmp/twinslot-build.log; exit 1; }
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

# median of N timings of a shell command, in seconds
measure() {
  local times=()
  for _ in $(seq "$repeats"); do
    local start end
    start=$(date +%s.%N)
    bash -c "$1" >/dev/null
    end=$(date +%s.%N)
    times+=("$(echo "$end - $start" | bc -l)")
  done
  printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

declare -A seconds
rows=(
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
  cmd=${row#*@}
  s=$(measure "$cmd")
  seconds[$name]=$s
  printf '%-30s %10.3f %10.0f\n' "$name" "$s" "$(echo "$size_mib * 1.048576 / $s" | bc -l)"
done
rm -f "$cache/recreated.tsb" "$cache/recompressed.zst"

echo
ratio() { echo "$1 / $2" | bc -l; }
printf 'verify speed / (zstd|openssl) speed: %.2f (target >= 0.90)\n' \
  "$(ratio "${seconds[decode+hash (zstd|openssl)]}" "${seconds[twinslot bundle verify]}")"
printf 'create speed / (zstd -T0) speed:     %.2f\n' \
  "$(ratio "${seconds[zstd -3 -T0 compress]}" "${seconds[twinslot bundle create]}")"
