#!/usr/bin/env bash
# The throwaway root scripts/package-test.sh installs the .deb into: a minimal Debian bookworm
# (mmdebstrap minbase, from the same mirror as the VM image, scripts/vm/build-image.sh) with the
# libraries the package depends on, cached in /opt/twinslot-test/pkg/<stamp>/ (<stamp>: a hash of
# this recipe). Every test run works on a fresh copy. Prints the directory's path.
set -euo pipefail
CACHE=${TWINSLOT_PKG_CACHE:-/opt/twinslot-test/pkg}
stamp=$(sha256sum "$0" | cut -c1-16)
dir="$CACHE/$stamp"
if [ ! -f "$dir.done" ]; then
  rm -rf "$dir.tmp" "$dir"
  mkdir -p "$CACHE"
  # The package's Depends (dpkg-shlibdeps) and Recommends; dpkg -i refuses the package if one is missing.
  mmdebstrap --quiet --variant=minbase --include=libarchive13,libssl3,libzstd1,libsystemd0,libconfig9,libxxhash0,zlib1g,libcurl4 \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --aptopt='APT::Install-Recommends "false"' \
    --customize-hook='rm -rf "$1/var/cache/apt/"* "$1/var/lib/apt/lists/"*' \
    bookworm "$dir.tmp" http://deb.debian.org/debian >&2
  mv "$dir.tmp" "$dir"
  touch "$dir.done"
  for old in "$CACHE"/*; do [ "$old" = "$dir" ] || [ "$old" = "$dir.done" ] || rm -rf "$old"; done
fi
echo "$dir"
