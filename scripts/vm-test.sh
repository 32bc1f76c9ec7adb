#!/usr/bin/env bash
# The VM rig: the whole update story on the real stack. QEMU (TCG) with OVMF boots a GPT disk:
# an ESP with a standalone GRUB EFI and the grubenv, two ext4 root filesystem slots each with its
# own kernel and initrd, and a data partition. Debian bookworm with systemd as PID 1 runs the
# twinslot release binary and its units. Bundles arrive on a second virtual disk; one install
# is served over HTTP by busybox httpd inside the guest, on its own loopback (the guest has no
# network at all: -nic none). A third small disk carries the step the guest runs on each boot.
#
# Every step is asserted from the serial console and from the disk afterwards (the grubenv and
# the slots read on the host). Last line:
#   boots: N, commits: C, rollbacks: R, fallbacks: F, power cuts: P, violations: V
# (with scripts/uboot-test.sh's numbers added when that rig exists). Exit 1 on any violation.
#
# KEEP=1 keeps the work directory (disk images, serial logs); VM_WORK=DIR chooses it.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
T0=$(date +%s)
elapsed() { echo $(( $(date +%s) - T0 )); }
phase() { printf '\n== [%4ss] %s\n' "$(elapsed)" "$*"; }
PT=$T0
phase_done() { local now; now=$(date +%s); printf '   (%s: %s s)\n' "$1" $(( now - PT )); PT=$now; }

boots=0 commits=0 rollbacks=0 fallbacks=0 cuts=0 violations=0 hangs=0
violation() { violations=$((violations + 1)); echo "   VIOLATION: $*"; }
ok() { echo "   ok: $*"; }
check() { # check DESCRIPTION COMMAND...: a violation unless the command succeeds
  local what=$1; shift
  if "$@"; then ok "$what"; else violation "$what"; fi
}

phase "VM image (cached under /opt/twinslot-test/vm; scripts/setup.sh builds it)"
bash scripts/vm/build-image.sh
image=$(bash scripts/vm/build-image.sh --dir)
[ -f "$image/done" ] || { echo "vm-test: no VM image at $image" >&2; exit 1; }
phase_done image

phase "twinslot Debian package (scripts/package-deb.sh: the static-stdlib release binary inside)"
deb=$(bash scripts/package-deb.sh 2>/tmp/twinslot-vm-deb.log | tail -1) || { cat /tmp/twinslot-vm-deb.log; exit 1; }
tail -1 /tmp/twinslot-vm-deb.log
# The same build, for the host's side (bundle create, bootloader init).
bin="$(swift build -c release --static-swift-stdlib --show-bin-path)/twinslot"
"$bin" --help >/dev/null
phase_done build

work=${VM_WORK:-$(mktemp -d /tmp/twinslot-vm.XXXXXX)}
mkdir -p "$work"
qpid=""
cleanup() {
  [ -z "$qpid" ] || kill -9 "$qpid" 2>/dev/null || true
  if [ -z "${KEEP:-}" ]; then rm -rf "$work"; else echo "vm-test: kept $work"; fi
}
trap cleanup EXIT

# ---------------------------------------------------------------------------------------------
phase "Root filesystem images (mke2fs -d, no loop mounts) and signed bundles"
bash scripts/make-test-pki.sh "$work/pki" >/dev/null
root="$work/root"
rm -rf "$root"
cp -a "$image/rootfs" "$root"
# twinslot comes from its .deb, installed by the guest's own dpkg into this run's copy of the
# cached image (the binary in it is stripped: half the size, and every install writes the whole
# image under TCG). The units land in /lib/systemd/system; the rig's config replaces the conffile.
cp "$deb" "$root/tmp/twinslot.deb"
chroot "$root" dpkg -i /tmp/twinslot.deb </dev/null >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; exit 1; }
rm -f "$root/tmp/twinslot.deb"
echo "   installed $(chroot "$root" dpkg-query -W -f='${Package} ${Version}' twinslot) from $(basename "$deb")"
install -d "$root/etc/twinslot" "$root/etc/twinslot/hooks.d" "$root/boot/efi" "$root/data" \
  "$root/srv/www" "$root/usr/local/sbin" "$root/mnt/bundles" "$root/mnt/ctl"
install -m 0644 "$work/pki/keyring.pem" "$root/etc/twinslot/keyring.pem"
SLOT_A=${VM_SLOT_A:-/dev/disk/by-partlabel/rootfs-a}
SLOT_B=${VM_SLOT_B:-/dev/disk/by-partlabel/rootfs-b}
# The kernel's own command line, as on a device (twinslot once failed to read it: procfs refuses
# lseek(SEEK_END), which the rig found; VM_CMDLINE points elsewhere for experiments).
CMDLINE_PATH=${VM_CMDLINE:-/proc/cmdline}
cat > "$root/etc/twinslot/system.toml" <<EOF
# The VM rig's device: GRUB EFI, grubenv on the ESP, root filesystem A/B on partitions rootfs-a, rootfs-b.
compatible = "twinslot-vm"
data-directory = "/data/twinslot"
keyring = "/etc/twinslot/keyring.pem"

[bootloader]
backend = "grub"
grubenv = "/boot/efi/grub/grubenv"
booted-slot = "cmdline"
cmdline-path = "$CMDLINE_PATH"
reboot-command = ["systemctl", "reboot"]

[slots.rootfs]
type = "raw"
a = "$SLOT_A"
b = "$SLOT_B"

# Runs first and records on the console when it ran and whether the web service was up.
[[health.check]]
name = "order-probe"
kind = "command"
command = ["/usr/local/sbin/vmtest-check"]

[[health.check]]
name = "web-service"
kind = "systemd"
target = "vmtest-web.service"

[[health.check]]
name = "web-healthz"
kind = "http"
target = "http://127.0.0.1:8080/healthz"
timeout = "5s"
retries = 2
retry-delay = "1s"

[health]
deadline-boots = 3
EOF
cat > "$root/etc/fstab" <<'EOF'
# The root file system stays read-only (the slot's bytes never change after it is written).
PARTLABEL=esp   /boot/efi  vfat  umask=0077  0 0
PARTLABEL=data  /data      ext4  defaults    0 0
tmpfs           /tmp       tmpfs defaults    0 0
tmpfs           /var/tmp   tmpfs defaults    0 0
EOF
echo ok > "$root/srv/www/healthz"
# Every unit twinslot ships (the package put them in /lib/systemd/system), enabled when it has an
# [Install] section (not the fleet agent: the guest has no server to poll; not the D-Bus API,
# twinslot.service: the guest has no dbus-daemon, and a unit failing at every boot would be a
# failed unit for the boot assessment's `systemd` check).
for unit in dist/systemd/*; do
  [ -f "$root/lib/systemd/system/$(basename "$unit")" ] || { echo "vm-test: the package lacks $unit" >&2; exit 1; }
done
mkdir -p "$root/etc/systemd/system/vmtest.service.d"
{
  echo "[Unit]"
  for unit in dist/systemd/*; do echo "After=$(basename "$unit")"; done
} > "$root/etc/systemd/system/vmtest.service.d/after-twinslot.conf"
for f in vmtest-step vmtest-check vmtest-mark; do
  install -m 0755 "scripts/vm/guest/$f" "$root/usr/local/sbin/$f"
done
install -m 0644 scripts/vm/guest/vmtest.service scripts/vm/guest/vmtest-web.service \
  "$root/etc/systemd/system/"
enable=()
for unit in dist/systemd/*; do
  name=$(basename "$unit")
  case $name in twinslot-agent.service | twinslot.service) continue ;; esac
  grep -q '^\[Install\]' "$unit" && enable+=("$name")
done
systemctl --root="$root" enable "${enable[@]}" vmtest.service vmtest-web.service >/dev/null 2>&1
echo "   units: $(ls dist/systemd | tr '\n' ' ')(enabled: ${enable[*]})"

# The images are as small as their content allows (ext4 metadata and a little room on top).
ROOT_MIB=${VM_ROOT_MIB:-$(( $(du -sm "$root" | cut -f1) * 105 / 100 + 16 ))}
echo "   root file system: $(du -sm "$root" | cut -f1) MiB of files in a ${ROOT_MIB} MiB ext4 image"
make_rootfs() { # make_rootfs VERSION KIND OUT: KIND good | panic (init exits) | unhealthy (web service fails)
  local version=$1 kind=$2 out=$3
  echo "$version" > "$root/etc/twinslot-version"
  cp -a "$root/usr/sbin/init" "$work/init.saved"
  cp "$root/etc/systemd/system/vmtest-web.service" "$work/web.saved"
  case "$kind" in
    panic) rm -f "$root/usr/sbin/init"; install -m 0755 scripts/vm/guest/bad-init "$root/usr/sbin/init" ;;
    unhealthy) sed -i 's|^ExecStart=.*|ExecStart=/bin/false|' "$root/etc/systemd/system/vmtest-web.service" ;;
  esac
  rm -f "$out"
  mke2fs -q -t ext4 -L rootfs -U random -d "$root" "$out" "${ROOT_MIB}M" >/dev/null
  rm -f "$root/usr/sbin/init"; cp -a "$work/init.saved" "$root/usr/sbin/init"
  cp "$work/web.saved" "$root/etc/systemd/system/vmtest-web.service"
}
declare -A hash_version=()
mkdir -p "$work/bundles"
versions=(1.0.0 2.0.0 3.0.0 4.0.0 5.0.0 6.0.0)
declare -A kind=([3.0.0]=panic [4.0.0]=unhealthy)
for v in "${versions[@]}"; do
  # VM_REUSE=1 (with VM_WORK and KEEP=1): reuse the images and bundles of an earlier run.
  [ -n "${VM_REUSE:-}" ] && [ -f "$work/bundles.img" ] || make_rootfs "$v" "${kind[$v]:-good}" "$work/rootfs-$v.img"
  hash_version[$(sha256sum < "$work/rootfs-$v.img" | cut -c1-64)]=$v
  [ "$v" = 1.0.0 ] && continue
  [ -n "${VM_REUSE:-}" ] && [ -f "$work/bundles.img" ] && continue
  "$bin" bundle create --out "$work/bundles/v$v.tsb" --compatible twinslot-vm --version "$v" \
    --security-version 1 --image rootfs="$work/rootfs-$v.img" --compression-level 3 \
    --cert "$work/pki/signer.pem" --key "$work/pki/signer.key" --chain "$work/pki/signer-chain.pem" >/dev/null &
done
wait
ls -s --block-size=M "$work/bundles" | tail -n +2 | tr '\n' ' '; echo
[ -n "${VM_REUSE:-}" ] && [ -f "$work/bundles.img" ] || mke2fs -q -F -t ext4 -L bundles -d "$work/bundles" "$work/bundles.img" "$(( $(du -sm "$work/bundles" | cut -f1) + 64 ))M" >/dev/null
phase_done images

# ---------------------------------------------------------------------------------------------
phase "GPT disk: ESP (GRUB EFI + grubenv), rootfs-a, rootfs-b (kernel inside each), data"
# The shipped dist/grub/grub.cfg verbatim, between the rig's device settings (grub-head.cfg) and
# its probe of the decision (grub-tail.cfg).
cat scripts/vm/grub-head.cfg dist/grub/grub.cfg scripts/vm/grub-tail.cfg > "$work/grub.cfg"
grub-mkstandalone -O x86_64-efi -o "$work/BOOTX64.EFI" \
  --modules="loadenv test echo halt reboot fat part_gpt ext2 linux serial terminal search normal sleep true" \
  "boot/grub/grub.cfg=$work/grub.cfg"
# The initial grubenv, as on the production line: `twinslot bootloader init` (group A committed,
# B not bootable), run on the host with the device's system.toml pointed at the file.
sed "s|^grubenv = .*|grubenv = \"$work/grubenv\"|" "$root/etc/twinslot/system.toml" > "$work/factory.toml"
rm -f "$work/grubenv"
if ! "$bin" bootloader init --config "$work/factory.toml" > "$work/bootloader-init.log" 2>&1; then
  echo "   twinslot bootloader init failed ($(tail -1 "$work/bootloader-init.log")); grub-editenv instead"
  grub-editenv "$work/grubenv" create
  grub-editenv "$work/grubenv" set ORDER="A B" A_OK=1 A_TRY=0 A_TRIAL=0 B_OK=0 B_TRY=0 B_TRIAL=0
fi
echo "   initial grubenv: $(grub-editenv "$work/grubenv" list | tr '\n' ' ')"
ESP_MIB=40 DATA_MIB=64 PART_MIB=$((ROOT_MIB + 24))
rm -f "$work/esp.img"
mkfs.vfat -n ESP -C "$work/esp.img" $((ESP_MIB * 1024)) >/dev/null
mmd -i "$work/esp.img" ::/EFI ::/EFI/BOOT ::/grub
mcopy -i "$work/esp.img" "$work/BOOTX64.EFI" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$work/esp.img" "$work/grubenv" ::/grub/grubenv
rm -f "$work/data.img"
# An empty data partition, as a factory writes it: twinslot creates its data directory itself.
mkdir -p "$work/data"
mke2fs -q -t ext4 -L data -d "$work/data" "$work/data.img" "${DATA_MIB}M" >/dev/null
disk="$work/disk.img"
rm -f "$disk"
truncate -s $((1 + ESP_MIB + 2 * PART_MIB + DATA_MIB + 1))M "$disk"
sgdisk -n 1:1M:+${ESP_MIB}M -t 1:ef00 -c 1:esp \
  -n 2:0:+${PART_MIB}M -t 2:8304 -c 2:rootfs-a \
  -n 3:0:+${PART_MIB}M -t 3:8304 -c 3:rootfs-b \
  -n 4:0:+${DATA_MIB}M -t 4:8300 -c 4:data "$disk" >/dev/null
part_start() { sgdisk -i "$1" "$disk" | sed -n 's/^First sector: \([0-9]*\).*/\1/p'; }
ESP_OFF=$(( $(part_start 1) * 512 ))
A_OFF=$(( $(part_start 2) * 512 ))
B_OFF=$(( $(part_start 3) * 512 ))
DATA_OFF=$(( $(part_start 4) * 512 ))
put() { dd if="$1" of="$disk" bs=1M seek="$(( $2 / 1048576 ))" conv=notrunc,sparse status=none; }
put "$work/esp.img" "$ESP_OFF"
put "$work/rootfs-1.0.0.img" "$A_OFF"
put "$work/data.img" "$DATA_OFF"
sgdisk -p "$disk" | tail -5
cp /usr/share/OVMF/OVMF_VARS.fd "$work/vars.fd"
rm -f "$work/ctl.img"
mkfs.vfat -C "$work/ctl.img" 1024 >/dev/null
phase_done disk

# ---------------------------------------------------------------------------------------------
# Reading the device from the host.
grubenv_list() {
  rm -f "$work/grubenv.read"
  mcopy -n -i "$disk@@$ESP_OFF" ::/grub/grubenv "$work/grubenv.read"
  grub-editenv "$work/grubenv.read" list
}
genv() { grubenv_list | sed -n "s/^$1=//p"; }
slot_version() { # the version whose image the slot holds byte for byte, else "partial"
  local off=$A_OFF
  [ "$1" = B ] && off=$B_OFF
  local h
  h=$(dd if="$disk" bs=1M skip=$((off / 1048576)) count="$ROOT_MIB" status=none | sha256sum | cut -c1-64)
  echo "${hash_version[$h]:-partial}"
}

# One QEMU process per step: the guest runs the step, reboots as the story needs (QEMU runs
# without -no-reboot: a kernel panic or a reboot goes back through OVMF and GRUB) and powers off.
# KILL: a shell condition on $log; when it holds, QEMU is killed with SIGKILL (a power cut).
start_qemu() {
  qemu-system-x86_64 -accel tcg -machine q35 -cpu max -m 1024 -smp "${VM_SMP:-2}" \
    -nodefaults -nographic -display none -nic none \
    -chardev file,id=ser0,path="$log",append=on -serial chardev:ser0 \
    -drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE.fd \
    -drive if=pflash,format=raw,file="$work/vars.fd" \
    -drive file="$disk",format=raw,if=virtio,cache=writeback \
    -drive file="$work/bundles.img",format=raw,if=virtio,readonly=on \
    -drive file="$work/ctl.img",format=raw,if=virtio,readonly=on &
  qpid=$!
}
run_vm() { # run_vm NAME STEP [KILL_CONDITION]
  local name=$1 step=$2 cond=${3:-}
  log="$work/serial-$name.log"
  printf '%s\n' "$step" > "$work/step"
  mcopy -o -i "$work/ctl.img" "$work/step" ::/step
  : > "$log"
  local t=$(date +%s) size=0 grew=$(date +%s) cycles=0
  start_qemu
  killed=""
  while kill -0 "$qpid" 2>/dev/null; do
    if [ -n "$cond" ] && [ -z "$killed" ] && eval "$cond"; then
      kill -9 "$qpid"; killed=yes
      cuts=$((cuts + 1))
      echo "   power cut (SIGKILL) at $(( $(date +%s) - t )) s: $(grep -a VMTEST "$log" | tail -1 | cut -c1-120)"
    fi
    # A firmware reset that never comes back (seen once under TCG: nothing on the serial
    # console for minutes after "reboot: Restarting system"): power-cycle the machine, as a
    # hardware watchdog would. Counted and printed apart; the story's checks still apply.
    if [ "$(stat -c %s "$log")" != "$size" ]; then size=$(stat -c %s "$log"); grew=$(date +%s); fi
    if [ -z "$killed" ] && [ $(( $(date +%s) - grew )) -gt "${VM_SILENCE:-240}" ] && [ "$cycles" -lt 3 ]; then
      kill -9 "$qpid"; wait "$qpid" 2>/dev/null || true
      cycles=$((cycles + 1)); hangs=$((hangs + 1)); grew=$(date +%s)
      echo "   machine silent for ${VM_SILENCE:-240} s after: $(tail -c 200 "$log" | tr -d '\r' | tail -1 | cut -c1-80); power-cycled"
      echo "VMTEST-HOST power-cycled after a hang" >> "$log"
      start_qemu
    fi
    if [ $(( $(date +%s) - t )) -gt "${VM_STEP_TIMEOUT:-1500}" ]; then
      kill -9 "$qpid"; violation "$name: no poweroff within ${VM_STEP_TIMEOUT:-1500} s"; break
    fi
    sleep 0.2
  done
  wait "$qpid" 2>/dev/null || true
  qpid=""
  local n
  n=$(grep -ac 'VMTEST grub boot=' "$log" || true)
  boots=$((boots + n))
  echo "   $name: $n boot(s) in $(( $(date +%s) - t )) s: $(grep -ao 'VMTEST grub boot=[A-Z]*' "$log" | sed 's/VMTEST grub boot=//' | tr '\n' ' ')"
  grep -aE 'VMTEST (boot|install-done|health-check|web-started|grub)|Kernel panic|VMTEST bad-init' "$log" \
    | sed 's/^/     | /' | cut -c1-160
  grep -a 'VMTEST install: {"outcome\|VMTEST install: {"error' "$log" | sed 's/^/     | /' | cut -c1-200 || true
}
# Facts from the serial log of the last run.
booted_slots() { grep -ao 'VMTEST boot slot=[AB] version=[0-9.]*' "$log" | sed 's/VMTEST boot slot=//'; }
last_status() { grep -a 'VMTEST status: ' "$log" | tail -1 | sed 's/.*VMTEST status: //'; }
status_field() { # status_field EXPR: a python expression over s (the last status JSON)
  last_status | python3 -c "import json,sys
s=json.loads(sys.stdin.read())
g={x['group']:x for x in s.get('groups',[])}
print(eval(sys.argv[1]))" "$1" 2>/dev/null || echo "?"
}
install_outcome() { grep -a 'VMTEST install: {"' "$log" | grep -v '"event"' | tail -1 | sed 's/.*VMTEST install: //' \
  | python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(d.get("outcome") or d.get("error",{}).get("class","?"))' 2>/dev/null || echo "none"; }
check_journal() { # check_journal MODE ARGS...: the guest's journalctl -o json lines (scripts/vm/check-journal.py)
  local out
  if out=$(python3 scripts/vm/check-journal.py "$log" "$@" 2>&1); then ok "journal: $out"; else violation "journal: $out"; fi
}
eq() { [ "$1" = "$2" ] || { echo "     (got '$1', want '$2')"; return 1; }; }
# A boot is "complete": the version the guest reports is the image its slot holds on the disk.
check_boots_complete() {
  local line slot ver held
  for slot in A B; do echo "   slot $slot holds: $(slot_version $slot)"; done
  while read -r line; do
    [ -n "$line" ] || continue
    slot=${line%% *}; ver=${line#*version=}
    held=$(slot_version "$slot")
    if [ "$ver" = "$held" ]; then ok "boot of $slot $ver: a complete slot (its image byte for byte)"
    else violation "boot of $slot reported '$ver' but the slot holds '$held'"; fi
  done < <(booted_slots)
}
check_status_truth() { # check_status_truth BOOTED PRIMARY: the last status against the disk
  local booted=$1 primary=$2 g v
  check "status: booted is $booted" eq "$(status_field "s['booted']")" "$booted"
  check "status: primary is $primary" eq "$(status_field "s['primary']")" "$primary"
  for g in A B; do
    v=$(slot_version $g)
    if [ "$(status_field "g['$g']['bootloader']")" = good ] \
      && [ "$(status_field "g['$g'].get('version') or ''")" != "" ]; then
      check "status: good group $g's version matches its slot on disk" eq "$(status_field "g['$g']['version']")" "$v"
    fi
  done
}
check_env() { # check_env VAR VALUE ...: the grubenv read from the ESP on the host
  local env
  env=$(grubenv_list)
  while [ $# -gt 0 ]; do
    check "grubenv $1=$2" eq "$(sed -n "s/^$1=//p" <<<"$env")" "$2"
    shift 2
  done
}

# ---------------------------------------------------------------------------------------------
phase "1. First boot of A (1.0.0): twinslot boot adopts it; HTTP install of 2.0.0 from the guest's own loopback; real reboot; GRUB boots the trial B; health checks after the web service; commit"
run_vm s1 "s1 install http://127.0.0.1:8081/v2.0.0.tsb"
check "install over HTTP staged" eq "$(install_outcome)" staged
check "boots: A 1.0.0 then B 2.0.0" eq "$(booted_slots | tr '\n' ' ')" "A version=1.0.0 B version=2.0.0 "
check_boots_complete
check "slot B holds 2.0.0 on disk" eq "$(slot_version B)" 2.0.0
check_env ORDER "B A" B_OK 1 B_TRIAL 0 B_TRY 0 A_OK 1
check_status_truth B B
check "last outcome committed 2.0.0" eq "$(status_field "s['last']['outcome']+' '+s['last']['version']")" "committed 2.0.0"
# Health checks ran after the service they check: the probe saw it active, after it started.
probe=$(grep -a "VMTEST health-check" "$log" | tail -1 || true)
check "health check ran with the web service active ($probe)" grep -q 'web=active' <<<"$probe"
order=$(grep -aoE "VMTEST (web-started|health-check)" "$log" | tail -2 | tr "\n" " " || true)
check "trial boot: web service started before the health checks ran" eq "$order" "VMTEST web-started VMTEST health-check "
grep -a 'journal-order' "$log" | tail -1 | cut -c1-600 | sed 's/^/     | /'
# journald has the install's and the decision's structured entries (TWINSLOT_* fields), no progress.
check_journal committed 2.0.0 B
[ "$(status_field "s['last']['outcome']")" = committed ] && commits=$((commits + 1))
phase_done "step 1"

phase "2. Install 3.0.0 whose kernel panics (init exits): GRUB falls back to B on its own"
run_vm s2 "s2 install /mnt/bundles/v3.0.0.tsb"
check "install staged" eq "$(install_outcome)" staged
check "a kernel panic was seen" grep -aq 'Kernel panic' "$log"
check "boots: B 2.0.0, (A panics), B 2.0.0" eq "$(booted_slots | tr '\n' ' ')" "B version=2.0.0 B version=2.0.0 "
check "GRUB chose B, A, B" eq "$(grep -ao 'VMTEST grub boot=[A-Z]*' "$log" | sed 's/.*=//' | tr '\n' ' ')" "B A B "
check_boots_complete
check "slot A holds 3.0.0" eq "$(slot_version A)" 3.0.0
check_status_truth B B
check "last outcome rolled-back 3.0.0 (fell back)" eq "$(status_field "s['last']['outcome']+' '+s['last']['version']")" "rolled-back 3.0.0"
check "status: the next boot is B, A is not good" eq "$(status_field "s['next_boot']+' '+str(g['A']['bootloader']!='good')")" "B True"
check_journal fell-back 3.0.0
[ "$(status_field "s['last']['outcome']")" = rolled-back ] && fallbacks=$((fallbacks + 1))
phase_done "step 2"

phase "3. Install 4.0.0 whose health check fails: rollback and reboot into B"
run_vm s3 "s3 install /mnt/bundles/v4.0.0.tsb"
check "install staged" eq "$(install_outcome)" staged
check "GRUB chose B, A (the trial), B" eq "$(grep -ao 'VMTEST grub boot=[A-Z]*' "$log" | sed 's/.*=//' | tr '\n' ' ')" "B A B "
# The trial's decision reboots before the rig's step unit starts: no "boot" line from A.
check "the guest came up as B 2.0.0, then B 2.0.0 again" eq "$(booted_slots | tr '\n' ' ')" "B version=2.0.0 B version=2.0.0 "
check "the trial's health checks ran and saw the web service failed" grep -aq 'VMTEST health-check .*web=failed' "$log"
check_boots_complete
check "slot A holds 4.0.0" eq "$(slot_version A)" 4.0.0
check_env ORDER "B A" A_OK 0 B_OK 1
check_status_truth B B
check "last outcome rolled-back 4.0.0" eq "$(status_field "s['last']['outcome']+' '+s['last']['version']")" "rolled-back 4.0.0"
[ "$(status_field "s['last']['outcome']")" = rolled-back ] && rollbacks=$((rollbacks + 1))
phase_done "step 3"

# ---------------------------------------------------------------------------------------------
# Power cuts. After each: the next boot is a complete old or new slot, status tells the truth,
# and installing again succeeds.
phase "4. Power cut during the image write of 5.0.0 into A (a third of it written)"
run_vm s4 "s4 install /mnt/bundles/v5.0.0.tsb" \
  'grep -ao "\"bytes\":[0-9]*,\"event\":\"progress\",[^}]*\"total\":[0-9]*" "$log" | awk -F"[:,]" "\$2 * 3 > \$NF { f = 1 } END { exit !f }"'
check "QEMU was killed during the install" eq "$killed" yes
check "the cut came before the install finished" eval '! grep -aq "VMTEST install-done" "$log"'
check "slot A is not bootable after the cut" eq "$(genv A_OK)" 0
echo "   slot A after the cut: $(slot_version A)"
phase_done "step 4"
phase "4b. Next boot: B 2.0.0, status tells the truth; install 5.0.0 again; commit"
run_vm s4b "s4b install /mnt/bundles/v5.0.0.tsb"
check "first boot after the cut is B 2.0.0" eq "$(booted_slots | head -1)" "B version=2.0.0"
first_status=$(grep -a 'VMTEST status: ' "$log" | head -1 | sed 's/.*VMTEST status: //' || true)
check "status after the cut: B primary, A not bootable" eq \
  "$(python3 -c 'import json,sys; s=json.loads(sys.argv[1]); g={x["group"]:x for x in s["groups"]}; print(s["primary"], g["A"]["bootloader"])' "$first_status" 2>/dev/null)" "B bad"
check "status after the cut: the last operation is the interrupted install of 5.0.0, failed" eq \
  "$(python3 -c 'import json,sys; s=json.loads(sys.argv[1]); print(s["last"]["outcome"], s["last"]["version"], s["last"]["target"])' "$first_status" 2>/dev/null)" "failed 5.0.0 A"
check "reinstall staged" eq "$(install_outcome)" staged
check_boots_complete
check "then A 5.0.0 booted" eq "$(booted_slots | tail -1)" "A version=5.0.0"
check "slot A holds 5.0.0" eq "$(slot_version A)" 5.0.0
check_status_truth A A
check "last outcome committed 5.0.0" eq "$(status_field "s['last']['outcome']+' '+s['last']['version']")" "committed 5.0.0"
[ "$(status_field "s['last']['outcome']")" = committed ] && commits=$((commits + 1))
phase_done "step 4b"

phase "5. Power cut right after 6.0.0 is staged into B (before the reboot)"
run_vm s5 "s5 install /mnt/bundles/v6.0.0.tsb" 'grep -aq "VMTEST install-done" "$log"'
check "QEMU was killed after staging" eq "$killed" yes
check "install staged" eq "$(install_outcome)" staged
check "slot B holds 6.0.0 complete" eq "$(slot_version B)" 6.0.0
check_env ORDER "B A" B_OK 1 B_TRIAL 1 B_TRY 0
phase_done "step 5"

phase "5b. Next boot: GRUB boots the trial B 6.0.0; power cut during its health checks (before the commit)"
run_vm s5b "s5b none" '[ "$(grep -ac "VMTEST health-check" "$log")" -ge 1 ]'
check "QEMU was killed during the checks" eq "$killed" yes
check "GRUB booted the trial B" eq "$(grep -ao 'VMTEST grub boot=[A-Z]*' "$log" | sed 's/.*=//' | tr '\n' ' ')" "B "
# The cut came inside twinslot's decision, before the rig's step unit: no "boot" line.
check "the cut came before the decision (no step ran)" eq "$(booted_slots | tr '\n' ' ')" ""
check "slot B still holds 6.0.0 complete" eq "$(slot_version B)" 6.0.0
check_env B_TRIAL 1 B_TRY 1 A_OK 1 A_TRY 0
phase_done "step 5b"

phase "5c. Next boot: GRUB falls back to A 5.0.0 on its own; status tells the truth; install 6.0.0 again; commit"
run_vm s5c "s5c install /mnt/bundles/v6.0.0.tsb"
check "GRUB chose A, then B" eq "$(grep -ao 'VMTEST grub boot=[A-Z]*' "$log" | sed 's/.*=//' | tr '\n' ' ')" "A B "
check "first boot after the cut is A 5.0.0" eq "$(booted_slots | head -1)" "A version=5.0.0"
first_status=$(grep -a 'VMTEST status: ' "$log" | head -1 | sed 's/.*VMTEST status: //' || true)
check "status after the cut: A booted and primary, last rolled-back 6.0.0" eq \
  "$(python3 -c 'import json,sys; s=json.loads(sys.argv[1]); print(s["booted"], s["primary"], s["last"]["outcome"], s["last"]["version"])' "$first_status" 2>/dev/null)" "A A rolled-back 6.0.0"
python3 -c 'import json,sys; s=json.loads(sys.argv[1]); sys.exit(0 if s["last"]["outcome"]=="rolled-back" else 1)' "$first_status" 2>/dev/null \
  && fallbacks=$((fallbacks + 1))
check "reinstall staged" eq "$(install_outcome)" staged
check_boots_complete
check "then B 6.0.0 booted" eq "$(booted_slots | tail -1)" "B version=6.0.0"
check_status_truth B B
check "last outcome committed 6.0.0" eq "$(status_field "s['last']['outcome']+' '+s['last']['version']")" "committed 6.0.0"
check_env ORDER "B A" B_OK 1 B_TRY 0 B_TRIAL 0 A_OK 1
[ "$(status_field "s['last']['outcome']")" = committed ] && commits=$((commits + 1))
phase_done "step 5c"

echo
echo "VM rig: $(elapsed) s in all (timings per step above; serial logs in $work with KEEP=1)"
if [ -f scripts/uboot-test.sh ]; then
  phase "U-Boot rig (scripts/uboot-test.sh)"
  set +e
  bash scripts/uboot-test.sh 2>&1 | tee "$work/uboot.log"
  set -e
  line=$(grep -a "^uboot boots:" "$work/uboot.log" | tail -1 || true)
  if [ -z "$line" ]; then
    violation "scripts/uboot-test.sh printed no result line"
  else
    num() { sed -n "s/.*$1: \([0-9]*\).*/\1/p" <<<"$line"; }
    boots=$((boots + $(num boots))); commits=$((commits + $(num commits)))
    rollbacks=$((rollbacks + $(num rollbacks))); fallbacks=$((fallbacks + $(num fallbacks)))
    violations=$((violations + $(num violations)))
  fi
fi
[ "$hangs" -eq 0 ] || echo "firmware hangs power-cycled by the rig's watchdog: $hangs"
echo "boots: $boots, commits: $commits, rollbacks: $rollbacks, fallbacks: $fallbacks, power cuts: $cuts, violations: $violations"
[ "$violations" -eq 0 ]
