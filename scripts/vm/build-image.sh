#!/usr/bin/env bash
# Builds the VM rig's cached base image once: a Debian bookworm root filesystem (real systemd as
# PID 1, udev, the Debian cloud kernel and an initramfs-tools initrd, the C libraries the twinslot
# binary links or dlopens, busybox for the in-guest web server) plus its vmlinuz and initrd.
# The cache lives in /opt/twinslot-test/vm/<stamp>/, where <stamp> is a hash of this script: a
# change to the recipe builds a new image; an unchanged recipe makes this a no-op.
set -euo pipefail
CACHE=${TWINSLOT_VM_CACHE:-/opt/twinslot-test/vm}
stamp=$(sha256sum "$0" | cut -c1-16)
dir="$CACHE/$stamp"
# --dir: print where the image is (or will be) and do nothing else.
if [ "${1:-}" = --dir ]; then echo "$dir"; exit 0; fi
if [ -f "$dir/done" ]; then
  echo "vm image: cached ($dir)"
  exit 0
fi
start=$(date +%s)
rm -rf "$dir" "$dir.tmp"
mkdir -p "$dir.tmp"
echo "vm image: building $dir with mmdebstrap (Debian bookworm)"

packages=systemd,systemd-sysv,udev,kmod,linux-image-cloud-amd64,initramfs-tools,zstd
packages+=,libarchive13,libssl3,libzstd1,libconfig9,libxxhash0,zlib1g,libcurl4,libstdc++6,busybox,e2fsprogs,util-linux,mount

mmdebstrap --variant=minbase --include="$packages" \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --aptopt='APT::Install-Recommends "false"' \
  --setup-hook='mkdir -p "$1/etc/initramfs-tools"' \
  --setup-hook='printf "virtio_pci\nvirtio_blk\n" > "$1/etc/initramfs-tools/modules.tmp"' \
  --essential-hook='mkdir -p "$1/etc/initramfs-tools"; mv "$1/etc/initramfs-tools/modules.tmp" "$1/etc/initramfs-tools/modules" 2>/dev/null || true' \
  --customize-hook='echo twinslot-vm > "$1/etc/hostname"' \
  --customize-hook='chroot "$1" passwd -d root' \
  --customize-hook='for u in apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer systemd-timesyncd.service getty@tty1.service; do ln -sf /dev/null "$1/etc/systemd/system/$u"; done' \
  --customize-hook='sed -i "s/^MODULES=.*/MODULES=list/" "$1/etc/initramfs-tools/initramfs.conf"' \
  --customize-hook='chroot "$1" update-initramfs -u -k all' \
  --customize-hook='rm -rf "$1/var/cache/apt/"* "$1/var/lib/apt/lists/"*' \
  bookworm "$dir.tmp/rootfs" http://deb.debian.org/debian

root="$dir.tmp/rootfs"
# Keep only the kernel modules a virtio guest with an ESP uses (the initrd was built with all).
kver=$(ls "$root/lib/modules" | head -1)
find "$root/lib/modules/$kver/kernel" -name '*.ko*' \
  | grep -Ev '/(virtio|fs/fat|fs/nls|drivers/block)/' | xargs -r rm -f
chroot "$root" depmod "$kver"
# What the guest never uses at run time (the build's perl modules, udev's hardware database,
# iconv modules, time zones, initramfs-tools' build-time files): a smaller image writes faster.
rm -rf "$root/usr/share/perl" "$root/usr/lib/x86_64-linux-gnu/perl" "$root/usr/lib/udev/hwdb.d" \
  "$root/usr/lib/udev/hwdb.bin" "$root/usr/lib/x86_64-linux-gnu/gconv" "$root/usr/share/zoneinfo" \
  "$root/var/cache/debconf/"*-old "$root/var/lib/dpkg/"*-old "$root/usr/bin/perl"* \
  "$root/usr/lib/x86_64-linux-gnu/libperl.so"* "$root/usr/lib/x86_64-linux-gnu/perl-base" \
  "$root/usr/share/perl5" "$root/boot/System.map-"* "$root/boot/config-"*
# The kernel and initrd as /boot/vmlinuz and /boot/initrd.img, real files (GRUB loads them from
# the slot's ext4 partition).
cp --remove-destination "$root/boot/vmlinuz-$kver" "$root/boot/vmlinuz"
cp --remove-destination "$root/boot/initrd.img-$kver" "$root/boot/initrd.img"
rm -f "$root/boot/vmlinuz-$kver" "$root/boot/initrd.img-$kver" "$root/vmlinuz" "$root/initrd.img" \
  "$root/vmlinuz.old" "$root/initrd.img.old"
echo "$kver" > "$dir.tmp/kernel-version"
mv "$dir.tmp" "$dir"
touch "$dir/done"
# Older recipes' images are of no further use.
for old in "$CACHE"/*; do [ "$old" = "$dir" ] || [ ! -d "$old" ] || rm -rf "$old"; done
echo "vm image: built in $(( $(date +%s) - start )) s, $(du -sh "$dir/rootfs" | cut -f1) ($kver)"
