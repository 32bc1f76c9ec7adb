#!/usr/bin/env bash
# Builds twinslot_<version>_<arch>.deb with dpkg-deb (no debhelper: one static-stdlib binary,
# its units and docs need no build system). Prints the .deb's path on its last line.
#
#   scripts/package-deb.sh [OUT_DIR]          (default: .build/deb)
#   DEB_REVISION=2 scripts/package-deb.sh     (the Debian revision, default 1)
#   DEB_VERSION=0.3.0-7 scripts/package-deb.sh  (the whole version, for upgrade tests)
#
# The version is TwinslotVersion.current (Sources/TwinslotCore/Version.swift). What the package
# holds, its Depends and its conffile are explained in docs/operations.md, "The Debian package".
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
out=${1:-$repo/.build/deb}
upstream=$(sed -n 's/.*static let current = "\(.*\)".*/\1/p' Sources/TwinslotCore/Version.swift)
[ -n "$upstream" ] || { echo "package-deb: no version in Sources/TwinslotCore/Version.swift" >&2; exit 1; }
version=${DEB_VERSION:-$upstream-${DEB_REVISION:-1}}
arch=$(dpkg --print-architecture)
# Reproducible dates: the last commit's, as dpkg-deb and gzip -n use them.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)

echo "package-deb: swift build -c release --static-swift-stdlib (twinslot $version, $arch)" >&2
swift build -c release --static-swift-stdlib --product twinslot >/tmp/twinslot-deb-build.log 2>&1 \
  || { cat /tmp/twinslot-deb-build.log >&2; exit 1; }
bin="$(swift build -c release --static-swift-stdlib --show-bin-path)/twinslot"

stage=$(mktemp -d /tmp/twinslot-deb.XXXXXX)
trap 'rm -rf "$stage"' EXIT
pkg="$stage/twinslot"
doc="$pkg/usr/share/doc/twinslot"
install -d "$pkg/DEBIAN" "$pkg/usr/bin" "$pkg/lib/systemd/system" "$doc/examples" "$pkg/etc/twinslot"
install -m 0755 "$bin" "$pkg/usr/bin/twinslot"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$pkg/usr/bin/twinslot"
# bookworm's systemd reads packaged units from /lib/systemd/system (merged /usr links it).
install -m 0644 dist/systemd/*.service "$pkg/lib/systemd/system/"
# The D-Bus policy (and activation files) when the service's engineer has added them.
for conf in dist/dbus/*.conf; do
  [ -e "$conf" ] || continue
  install -D -m 0644 "$conf" "$pkg/usr/share/dbus-1/system.d/$(basename "$conf")"
done
for service in dist/dbus/*.service; do
  [ -e "$service" ] || continue
  install -D -m 0644 "$service" "$pkg/usr/share/dbus-1/system-services/$(basename "$service")"
done
# The docs the units' Documentation= lines name, uncompressed so that those file: links resolve.
install -m 0644 README.md docs/*.md "$doc/"
for unit in dist/systemd/*.service; do
  for link in $(sed -n 's/^Documentation=//p' "$unit"); do
    case "$link" in
      file:/usr/share/doc/twinslot/*) [ -f "$pkg${link#file:}" ] \
        || { echo "package-deb: $unit documents ${link#file:}, which the package does not install" >&2; exit 1; } ;;
    esac
  done
done
install -m 0644 dist/debian/copyright "$doc/copyright"
sed -e "s/@VERSION@/$version/" -e "s/@COMMIT@/$commit/" -e "s/@DATE@/$(date -R -u -d "@$SOURCE_DATE_EPOCH")/" \
  dist/debian/changelog | gzip -9n > "$doc/changelog.Debian.gz"
install -m 0644 fixtures/configs/grub-device.toml "$doc/examples/system.toml"
install -m 0644 fixtures/configs/uboot-device.toml "$doc/examples/system-uboot.toml"
install -m 0644 dist/agent.env.example "$doc/examples/agent.env"
install -m 0644 dist/grub/grub.cfg "$doc/examples/grub.cfg"
install -m 0644 dist/u-boot/boot.cmd "$doc/examples/boot.cmd"
# The conffile: dpkg never overwrites an administrator's change to it on upgrade.
install -m 0644 fixtures/configs/grub-device.toml "$pkg/etc/twinslot/system.toml"
echo /etc/twinslot/system.toml > "$pkg/DEBIAN/conffiles"

# Depends from the libraries the binary links (libcurl is dlopened: Recommends, in control).
mkdir -p "$stage/src/debian"
printf 'Source: twinslot\n\nPackage: twinslot\nArchitecture: any\n' > "$stage/src/debian/control"
depends=$(cd "$stage/src" && dpkg-shlibdeps -O -e"$pkg/usr/bin/twinslot" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "package-deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" -e "s/@DEPENDS@/$depends/" \
  dist/debian/control > "$pkg/DEBIAN/control"
# The conffile is left out, as dh_md5sums does: dpkg keeps its hash in the status file.
(cd "$pkg" && find . \( -path ./DEBIAN -o -path ./etc \) -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) \
  > "$pkg/DEBIAN/md5sums"
# Reproducible mtimes (dpkg-deb clamps to SOURCE_DATE_EPOCH only with --root-owner-group on newer dpkg).
find "$pkg" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
mkdir -p "$out"
deb="$out/twinslot_${version}_$arch.deb"
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >&2
echo "package-deb: $(du -h "$deb" | cut -f1) $(basename "$deb"); Depends: $depends" >&2
echo "$deb"
