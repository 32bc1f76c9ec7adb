#!/usr/bin/env bash
# Installs what twinslot's build, tests and demo need on a Debian machine. Idempotent: a second
# run installs nothing. The Swift 6.3 toolchain itself must already be on PATH (see README).
set -euo pipefail

packages=(
  # build: the C libraries twinslot links
  libarchive-dev libssl-dev libzstd-dev libcurl4-openssl-dev libsystemd-dev libconfig-dev libxxhash-dev zlib1g-dev pkg-config
  # tests and demo: the real tools users have
  openssl zstd tar cpio bc python3 python3-venv curl util-linux grub-common libubootenv-tool swupdate systemd nginx-light
  # D-Bus service tests (gdbus: libglib2.0-bin), the Debian package and its checks, OCI layouts, delta baselines
  dbus dbus-bin libglib2.0-bin lintian dpkg-dev fakeroot skopeo umoci casync zchunk xdelta3
  # the VM rig (scripts/vm-test.sh): QEMU with OVMF, GRUB EFI, the disk tools, mmdebstrap
  qemu-system-x86 qemu-utils ovmf grub-efi-amd64-bin mtools dosfstools mmdebstrap e2fsprogs gdisk fdisk
  # scripts/uboot-test.sh: the real U-Boot (qemu_arm64) under QEMU, mkimage, a FAT disk without loop mounts
  qemu-system-arm u-boot-qemu u-boot-tools mtools dosfstools fdisk
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
  for candidate in /opt/swift/usr/bin /usr/share/swift/usr/bin; do
    [ -x "$candidate/swift" ] && export PATH="$candidate:$PATH"
  done
fi
# The integration tests' hawkBit-compatible server: goosebit from PyPI, in its own venv built on
# Debian's python3 (scripts/goosebit.py runs with this venv's python).
GOOSEBIT_VERSION=0.2.12
GOOSEBIT_VENV=/opt/twinslot-test/goosebit-venv
if [ "$("$GOOSEBIT_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("goosebit"))' 2>/dev/null)" \
  != "$GOOSEBIT_VERSION" ]; then
  echo "setup: installing goosebit $GOOSEBIT_VERSION into $GOOSEBIT_VENV"
  [ -x "$GOOSEBIT_VENV/bin/python" ] || /usr/bin/python3 -m venv "$GOOSEBIT_VENV"
  "$GOOSEBIT_VENV/bin/python" -m pip install -q --disable-pip-version-check "goosebit==$GOOSEBIT_VERSION"
fi

# The VM rig's base image (Debian bookworm with systemd, the cloud kernel and an initrd), built
# once with mmdebstrap and cached under /opt/twinslot-test/vm; a change to its recipe rebuilds it.
bash "$(dirname "$0")/vm/build-image.sh"
# The throwaway Debian root scripts/package-test.sh installs the .deb into, cached the same way.
bash "$(dirname "$0")/package-base.sh" >/dev/null

command -v swift >/dev/null 2>&1 || { echo "setup: swift (6.3) is not on PATH; install the toolchain from swift.org" >&2; exit 1; }
echo "setup: ready ($(swift --version 2>/dev/null | head -1))"
