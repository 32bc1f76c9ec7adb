#!/usr/bin/env bash
# Builds an SWUpdate .swu with the real tools (zstd, openssl, cpio), as goosebit and SWUpdate
# read it: a cpio "newc with CRC" archive (cpio -o -H crc) whose first member is sw-description,
# then sw-description.sig (when signing), then the images.
#
# Usage: make-swu.sh OUT --version V [--security-version N] --hardware REV [--hardware REV2 ...]
#                    [--board NAME] --image CLASS=FILE [--image CLASS=FILE ...]
#                    [--cert PEM --key PEM [--chain PEM]]
#
# --security-version N writes `twinslot-security-version = N;` next to `version` in `software`
# (docs/swupdate.md): the anti-rollback floor twinslot applies. Without it the bundle has
# security version 0, which never raises the floor and installs over anything at 0, so a
# release that must not be downgraded from needs it.
#
# Each image is zstd-compressed into CLASS.img.zst and described as
#   { filename = "CLASS.img.zst"; type = "raw"; device = "twinslot:CLASS";
#     sha256 = "..."; compressed = "zstd"; }
#
# sha256 semantics (SWUpdate core/cpio_utils.c, __swupdate_copy): the digest is updated in the
# pipeline's input step, i.e. over the bytes exactly as they are stored in the cpio archive,
# before decryption and before decompression; cpio_scan checks it the same way while skipping
# over the archive. So `sha256` is the SHA-256 of the *compressed* (and, if encrypted, the
# encrypted) file, not of the decompressed image. This script hashes CLASS.img.zst.
# Checked with Debian's swupdate: `swupdate -c -i OUT -k CA-BUNDLE --cert-purpose codeSigning
# -H default:REV` accepts this script's output and, for a sw-description carrying the digest of
# the decompressed image instead, fails with "HASH mismatch".
#
# Signature (SWUpdate doc/source/signed_images.rst, CMS mode): a detached DER CMS signature
# over sw-description: `openssl cms -sign -in sw-description -signer CERT -inkey KEY
# -outform DER -nosmimecap -binary`. SWUpdate checks the signer certificate's purpose
# (emailProtection by default, `--cert-purpose codeSigning` for a code-signing certificate).
# --chain adds intermediate certificates to the SignedData.
#
# Hardware compatibility: without --board, `hardware-compatibility` sits at the top of
# `software`, which SWUpdate applies to any board and goosebit records as model "default"
# (a device must send hw_boardname "default" or none). With --board NAME the whole description
# goes into the board-specific section `software.NAME`, which goosebit records as model NAME.
# goosebit matches (hw_boardname, hw_revision) by exact equality; SWUpdate's "#RE:" regular
# expressions are not understood by goosebit.
set -euo pipefail

usage() { echo "usage: make-swu.sh OUT --version V [--security-version N] --hardware REV [--board NAME] --image CLASS=FILE... [--cert PEM --key PEM [--chain PEM]]" >&2; exit 2; }

out=${1:-}
[ -n "$out" ] && [ "${out#--}" = "$out" ] || usage
shift
version="" security="" board="" cert="" key="" chain=""
hardware=() images=()
while [ $# -gt 0 ]; do
  case "$1" in
    --version) version=${2:?}; shift 2 ;;
    --security-version) security=${2:?}; shift 2 ;;
    --hardware) hardware+=("${2:?}"); shift 2 ;;
    --board) board=${2:?}; shift 2 ;;
    --image) images+=("${2:?}"); shift 2 ;;
    --cert) cert=${2:?}; shift 2 ;;
    --key) key=${2:?}; shift 2 ;;
    --chain) chain=${2:?}; shift 2 ;;
    *) usage ;;
  esac
done
[ -n "$version" ] && [ ${#hardware[@]} -gt 0 ] && [ ${#images[@]} -gt 0 ] || usage
{ [ -n "$cert" ] && [ -n "$key" ]; } || { [ -z "$cert" ] && [ -z "$key" ]; } || usage
[ -z "$security" ] || [[ "$security" =~ ^[0-9]+$ ]] || { echo "make-swu.sh: --security-version must be an integer >= 0" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

hw_list=""
for rev in "${hardware[@]}"; do hw_list+="${hw_list:+, }\"$rev\""; done

entries=""
members=()
for spec in "${images[@]}"; do
  class=${spec%%=*}
  file=${spec#*=}
  [ "$class" != "$spec" ] && [ -n "$class" ] && [ -f "$file" ] || { echo "make-swu.sh: bad --image $spec" >&2; exit 2; }
  name="$class.img.zst"
  zstd -q -19 -f "$file" -o "$work/$name"
  digest=$(sha256sum "$work/$name" | cut -d' ' -f1)
  entries+="${entries:+,
}      { filename = \"$name\"; type = \"raw\"; device = \"twinslot:$class\"; sha256 = \"$digest\"; compressed = \"zstd\"; }"
  members+=("$name")
done

body="    hardware-compatibility = [ $hw_list ];
    images: (
$entries
    );"
if [ -n "$board" ]; then
  body="    $board = {
$(printf '%s\n' "$body" | sed 's/^/  /')
    };"
fi
cat > "$work/sw-description" <<EOF
software =
{
    version = "$version";
${security:+    twinslot-security-version = $security;
}$body
};
EOF

list=(sw-description)
if [ -n "$cert" ]; then
  extra=()
  [ -n "$chain" ] && extra=(-certfile "$chain")
  openssl cms -sign -in "$work/sw-description" -out "$work/sw-description.sig" -signer "$cert" -inkey "$key" \
    "${extra[@]}" -outform DER -nosmimecap -binary
  list+=(sw-description.sig)
fi
list+=("${members[@]}")

out_abs=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
(cd "$work" && printf '%s\n' "${list[@]}" | cpio -o -H crc --quiet > "$out_abs")
