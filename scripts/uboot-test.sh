#!/usr/bin/env bash
# twinslot against the real U-Boot: Debian's u-boot-qemu (qemu_arm64) under qemu-system-aarch64
# (TCG) runs dist/u-boot/boot.cmd against an environment in its pflash that twinslot (the host
# build, real CLI: `bootloader init`, `install`, `boot`) wrote; twinslot and fw_printenv read back
# what U-Boot saved.
#
# Stories, each asserted from U-Boot's console and from the flash afterwards (twinslot status
# and fw_printenv): factory boot and adoption; install -> trial -> U-Boot boots it and
# decrements -> commit; re-arm after good boots; a trial that never comes up (U-Boot falls back
# at BOOT_X_LEFT=0, twinslot records the rollback); a trial that fails its health check; QEMU
# killed (SIGKILL) mid-boot and mid-saveenv.
#
# Usage: scripts/uboot-test.sh   (TWINSLOT_BIN=path skips the build; KEEP=1 keeps the work dir)
# The last line is `uboot boots: N, commits: C, rollbacks: R, fallbacks: F, violations: V`;
# the exit status is non-zero when V > 0 or anything failed to run.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
started=$(date +%s)

boots=0 commits=0 rollbacks=0 fallbacks=0 violations=0
summary() { echo "uboot boots: $boots, commits: $commits, rollbacks: $rollbacks, fallbacks: $fallbacks, violations: $violations"; }
fatal() {
  echo "uboot-test: FAILED TO RUN: $*" >&2
  violations=$((violations + 1))
  summary
  exit 2
}
note() { printf '  %s\n' "$*"; }
step() { printf '\n== %s\n' "$*"; }
# check DESCRIPTION COMMAND...: a violation when the command fails.
check() {
  local what=$1
  shift
  if "$@"; then
    note "ok: $what"
  else
    note "VIOLATION: $what"
    violations=$((violations + 1))
  fi
}
eq() { [ "$1" = "$2" ] || { note "  expected '$2', got '$1'"; return 1; }; }

for tool in qemu-system-aarch64 mkimage mcopy mkfs.vfat sfdisk fw_printenv python3 openssl bc; do
  command -v "$tool" >/dev/null 2>&1 || fatal "$tool is not installed (bash scripts/setup.sh)"
done
firmware=/usr/lib/u-boot/qemu_arm64/u-boot.bin
[ -f "$firmware" ] || fatal "$firmware is missing (apt-get install u-boot-qemu)"

if [ -n "${TWINSLOT_BIN:-}" ]; then
  bin=$TWINSLOT_BIN
else
  (cd "$root" && swift build --product twinslot >/tmp/uboot-test-build.log 2>&1) ||
    { cat /tmp/uboot-test-build.log >&2; fatal "swift build failed"; }
  bin=$root/.build/debug/twinslot
fi
[ -x "$bin" ] || fatal "no twinslot binary at $bin"

work=$(mktemp -d /tmp/uboot-test.XXXXXX)
qemu_pid=""
cleanup() {
  [ -n "$qemu_pid" ] && kill -9 "$qemu_pid" 2>/dev/null
  if [ -n "${KEEP:-}" ]; then echo "uboot-test: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

# --- The boot script: the docs' block must be the shipped file -----------------------------------
step "dist/u-boot/boot.cmd is the boot script of docs/bootloaders.md"
awk '/^### Boot script \(hush\)/{s=1;next} s==1&&/^```$/{s=2;next} s==2&&/^```$/{exit} s==2{print}' \
  "$root/docs/bootloaders.md" >"$work/docs-boot.cmd"
check "the docs block equals dist/u-boot/boot.cmd" cmp -s "$work/docs-boot.cmd" "$root/dist/u-boot/boot.cmd"
mkimage -A arm64 -T script -C none -n twinslot -d "$root/dist/u-boot/boot.cmd" "$work/boot.scr" >/dev/null ||
  fatal "mkimage failed"

# --- The machine: pflash unit 1 holds the environment, a virtio disk holds boot.scr -------------
# qemu_arm64's U-Boot (CONFIG_ENV_IS_IN_FLASH, CONFIG_ENV_ADDR=0x4000000, CONFIG_ENV_SIZE=0x40000,
# no CONFIG_SYS_REDUNDAND_ENVIRONMENT) keeps one copy at the start of the second flash bank:
# pflash unit 1, offset 0, 256 KiB. QEMU virt wants that image to be exactly 64 MiB.
env_size=0x40000
flash=$work/flash.img
head -c 64M /dev/zero | tr '\0' '\377' >"$flash" # erased NOR reads 0xFF
echo "$flash 0x0 $env_size" >"$work/fw_env.config"

disk=$work/disk.img
truncate -s 8M "$disk"
echo 'start=2048, type=c, bootable' | sfdisk -q "$disk" >/dev/null 2>&1 || fatal "sfdisk failed"
mkfs.vfat --offset 2048 -n TWINSLOT "$disk" 7168 >/dev/null || fatal "mkfs.vfat failed"
mcopy -i "$disk@@1M" "$work/boot.scr" ::/boot.scr || fatal "mcopy failed"

qemu_cmd=(qemu-system-aarch64 -M virt -cpu cortex-a57 -m 256 -accel tcg -display none -nodefaults
  -no-reboot -nic none -monitor none -bios "$firmware"
  -drive "if=pflash,format=raw,unit=1,file=$flash"
  -drive "if=virtio,format=raw,file=$disk")

# uboot_boot NAME: power on, U-Boot runs bootcmd; returns when QEMU exits (the boot_X reset).
# Sets booted (A, B, recovery, none) and cmdline; the console is in $work/NAME.log.
uboot_boot() {
  local log=$work/$1.log t0 predicted
  predicted=$(status next_boot 2>/dev/null)
  cat /proc/sys/kernel/random/uuid >"$work/boot-id" # each power-on is a new boot
  t0=$(date +%s.%N)
  timeout 120 "${qemu_cmd[@]}" -serial "file:$log" </dev/null >"$work/$1.qemu" 2>&1 ||
    { cat "$work/$1.qemu" "$log" >&2; fatal "QEMU ($1) did not exit by itself within 120 s"; }
  tr -d '\r' <"$log" >"$log.txt"
  booted=$(sed -n 's/^TWINSLOT_BOOT=\([A-Za-z]*\).*/\1/p' "$log.txt" | tail -1)
  cmdline=$(sed -n 's/^TWINSLOT_CMDLINE=//p' "$log.txt" | tail -1)
  boots=$((boots + 1))
  # twinslot's model of the boot script (status next_boot) against the real choice.
  if [ -n "$booted" ] && [ "$predicted" != "$booted" ]; then
    violations=$((violations + 1))
    note "VIOLATION: twinslot status said the next boot is '${predicted:-none}', U-Boot booted $booted"
  fi
  note "$(printf 'U-Boot boot %s: %s (%.1f s): %s' "$1" "${booted:-nothing}" "$(echo "$(date +%s.%N) - $t0" | bc)" \
    "$(grep '^TWINSLOT_BOOT=' "$log.txt" | tail -1)")"
}
console_has() { grep -q -- "$2" "$work/$1.log.txt"; }
saved_ok() { console_has "$1" "^Saving Environment to Flash" && console_has "$1" "^OK"; }
# The variable as the real fw_printenv reads it from the flash image.
fwenv() { fw_printenv -c "$work/fw_env.config" -n "$1" 2>/dev/null; }
# Kernel command line for twinslot boot: what U-Boot put in bootargs.
give_cmdline() { printf '%s\n' "$cmdline" >"$work/cmdline"; }

ts() { TWINSLOT_CONFIG="$work/system.toml" "$bin" "$@"; }
# twinslot boot --json; sets actions (comma-separated).
twinslot_boot() {
  local out
  out=$(ts boot --json 2>"$work/boot.err") || { cat "$work/boot.err" >&2; fatal "twinslot boot failed"; }
  actions=$(printf '%s' "$out" | python3 -c 'import json,sys; print(",".join(json.load(sys.stdin)["actions"]))')
  note "twinslot boot: booted $(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["booted"])'), actions: $actions"
  case ",$actions," in *,committed,*) commits=$((commits + 1)) ;; esac
  case ",$actions," in *,rolled-back,* | *,fell-back,*) rollbacks=$((rollbacks + 1)) ;; esac
}
# status FIELD: a top-level field of twinslot status --json; group_boot X: group X's bootloader state.
status() { ts status --json | python3 -c "import json,sys; v=json.load(sys.stdin).get('$1'); print(v if v is not None else '')"; }
group_boot() {
  ts status --json | python3 -c "import json,sys; print([g['bootloader'] for g in json.load(sys.stdin)['groups'] if g['group']=='$1'][0])"
}
last_outcome() { ts status --json | python3 -c "import json,sys; print((json.load(sys.stdin).get('last') or {}).get('outcome',''))"; }
env_is() { # NAME VALUE: fw_printenv reads VALUE
  eq "$(fwenv "$1")" "$2"
}

# --- The device: twinslot on the host, raw slots in files, the environment in the flash image ---
step "factory: PKI, slots, system.toml, the board's environment written by twinslot bootloader init"
bash "$root/scripts/make-test-pki.sh" "$work/pki" >/dev/null 2>&1 || fatal "make-test-pki.sh failed"
mkdir -p "$work/slots" "$work/data" "$work/hooks.d"
(yes "twinslot factory rootfs" || true) | head -c 1M >"$work/slots/rootfs-a.img"
: >"$work/slots/rootfs-b.img"
touch "$work/healthy"
cat >"$work/system.toml" <<EOF
compatible = "qemu-arm64-uboot-test"
data-directory = "$work/data"
keyring = "$work/pki/keyring.pem"

[bootloader]
backend = "uboot"
uboot-env = ["$flash 0x0 $env_size"]
attempts = 3
booted-slot = "cmdline"
cmdline-path = "$work/cmdline"
reboot-command = ["/bin/true"]
boot-id-path = "$work/boot-id"

[slots.rootfs]
type = "raw"
a = "$work/slots/rootfs-a.img"
b = "$work/slots/rootfs-b.img"

[[health.check]]
name = "healthy-file"
kind = "file"
target = "$work/healthy"

[reporting]
hooks-directory = "$work/hooks.d"
EOF
# flash_info[1] of this U-Boot, for the QEMU pflash workaround in factory.env (see there).
"${qemu_cmd[@]}" -serial "file:$work/probe.log" -monitor "unix:$work/monitor.sock,server=on,wait=off" \
  </dev/null >"$work/probe.qemu" 2>&1 &
qemu_pid=$!
for _ in $(seq 1 600); do grep -q "Loading Environment" "$work/probe.log" 2>/dev/null && break; sleep 0.05; done
sleep 0.3
fi_hex=$(python3 "$root/scripts/uboot/find-flash-info.py" "$work/monitor.sock" "$work/ram.bin") ||
  fatal "could not find U-Boot's flash_info in RAM (scripts/uboot/find-flash-info.py)"
kill -9 "$qemu_pid" 2>/dev/null
wait "$qemu_pid" 2>/dev/null
qemu_pid=""
rm -f "$work/ram.bin"
fi_at=$((16#$fi_hex))
note "U-Boot's flash_info[1] is at 0x$fi_hex"
grep -v '^#' "$root/scripts/uboot/factory.env" |
  sed -e "s/@FI_START@/$(printf '0x%x' $((fi_at + 24)))/g" -e "s/@FI_COUNT@/$(printf '0x%x' $((fi_at + 8)))/g" \
    -e "s/@FI_BUF@/$(printf '0x%x' $((fi_at + 2332)))/g" -e "s/@FI@/$(printf '0x%x' "$fi_at")/g" >"$work/factory.env"
ts bootloader init --defaults "$work/factory.env" >"$work/init.log" 2>&1 ||
  { cat "$work/init.log" >&2; fatal "twinslot bootloader init --defaults factory.env failed"; }
note "$(head -1 "$work/init.log")"
check "fw_printenv reads the board's variables twinslot wrote (bootcmd, boot_A, qemu_pflash_fix)" \
  eval '[ "$(fwenv bootcmd)" = "$(sed -n "s/^bootcmd=//p" "$work/factory.env")" ] && [ -n "$(fwenv boot_A)" ] && [ -n "$(fwenv qemu_pflash_fix)" ]'
check "fw_printenv reads the factory environment (BOOT_ORDER=A, BOOT_A_LEFT=3)" \
  eval 'env_is BOOT_ORDER A && env_is BOOT_A_LEFT 3'

bundle() { # VERSION GROUP-CONTENT -> $work/vVERSION.tsb
  (yes "twinslot rootfs $1" || true) | head -c 1M >"$work/rootfs-$1.img"
  ts bundle create --out "$work/v$1.tsb" --compatible qemu-arm64-uboot-test --version "$1" \
    --image rootfs="$work/rootfs-$1.img" --cert "$work/pki/signer.pem" --key "$work/pki/signer.key" \
    --chain "$work/pki/signer-chain.pem" >/dev/null 2>&1 || fatal "bundle create $1 failed"
}
install() {
  ts install "$work/v$1.tsb" --quiet >"$work/install.log" 2>&1 || { cat "$work/install.log" >&2; fatal "install $1 failed"; }
  note "installed $1: $(tail -1 "$work/install.log")"
}

# --- 1. Factory environment: U-Boot boots A; twinslot adopts A and re-arms ----------------------
step "1. factory environment: U-Boot boots A, twinslot adopts it and re-arms BOOT_A_LEFT"
uboot_boot boot1
check "U-Boot accepted the environment twinslot wrote (no bad CRC)" eval '! console_has boot1 "bad CRC"'
check "the flash workaround ran" console_has boot1 "TWINSLOT_PFLASH_FIX=applied"
check "U-Boot booted A with BOOT_A_LEFT decremented to 2" console_has boot1 "^TWINSLOT_BOOT=A BOOT_ORDER=A BOOT_A_LEFT=2 "
check "U-Boot's saveenv succeeded" saved_ok boot1
check "fw_printenv reads U-Boot's save: BOOT_A_LEFT=2" env_is BOOT_A_LEFT 2
check "the kernel command line carries twinslot.slot=A" eval 'case "$cmdline" in *twinslot.slot=A*) true ;; *) false ;; esac'
give_cmdline
twinslot_boot
check "twinslot boot adopted A" eq "$actions" adopted
check "BOOT_A_LEFT re-armed to 3 (twinslot's write, read by fw_printenv)" env_is BOOT_A_LEFT 3
check "status: primary A, A good" eval '[ "$(status primary)" = A ] && [ "$(group_boot A)" = good ]'

# --- 2. Install -> B is trial -> U-Boot boots B and decrements -> twinslot commits --------------
step "2. install 2.0: B becomes the trial; U-Boot boots B, decrements BOOT_B_LEFT; twinslot commits"
bundle 2.0
install 2.0
check "the trial in the flash: BOOT_ORDER='B A', BOOT_B_LEFT=1, BOOT_B_TRIAL=1" \
  eval 'env_is BOOT_ORDER "B A" && env_is BOOT_B_LEFT 1 && env_is BOOT_B_TRIAL 1'
uboot_boot boot2
check "U-Boot accepted twinslot's environment (no bad CRC)" eval '! console_has boot2 "bad CRC"'
check "U-Boot booted B, BOOT_B_LEFT 1 -> 0" console_has boot2 "^TWINSLOT_BOOT=B BOOT_ORDER=B A BOOT_A_LEFT=3 BOOT_B_LEFT=0"
check "U-Boot's saveenv succeeded" saved_ok boot2
check "twinslot reads U-Boot's save: B is an attempted trial" eq "$(group_boot B)" tried
give_cmdline
twinslot_boot
check "twinslot boot committed B" eq "$actions" committed
check "BOOT_B_LEFT back to attempts (3), BOOT_B_TRIAL=0" eval 'env_is BOOT_B_LEFT 3 && env_is BOOT_B_TRIAL 0'
check "status: primary B, last outcome committed" eval '[ "$(status primary)" = B ] && [ "$(last_outcome)" = committed ]'

# --- 3. Re-arm: two good boots of the committed group leave BOOT_B_LEFT at attempts -------------
step "3. re-arm: after each good boot of committed B, BOOT_B_LEFT is back at attempts (3)"
for n in 3 4; do
  uboot_boot "boot$n"
  check "U-Boot booted B" eq "$booted" B
  give_cmdline
  twinslot_boot
  check "twinslot boot confirmed B" eq "$actions" confirmed
  # Fails without main's 62e9dea ("U-Boot re-arms a confirmed group"): before it, a confirmed
  # boot did not re-arm BOOT_<X>_LEFT until it reached 0 (3 -> 2 -> 1 here).
  check "[re-arm] BOOT_B_LEFT re-armed to 3 after good boot $((n - 2))" env_is BOOT_B_LEFT 3
done

# --- 4. A trial that never comes up: U-Boot falls back at 0; twinslot records the rollback ------
step "4. install 3.0 into A; its boot never reaches twinslot: U-Boot falls back to B by itself"
bundle 3.0
install 3.0
check "the trial in the flash: BOOT_ORDER='A B', BOOT_A_LEFT=1, BOOT_A_TRIAL=1" \
  eval 'env_is BOOT_ORDER "A B" && env_is BOOT_A_LEFT 1 && env_is BOOT_A_TRIAL 1'
uboot_boot boot5
check "U-Boot tried A, BOOT_A_LEFT 1 -> 0" console_has boot5 "^TWINSLOT_BOOT=A BOOT_ORDER=A B BOOT_A_LEFT=0"
note "(the kernel of 3.0 hangs: twinslot boot never runs; power cycle)"
b_left_before=$(fwenv BOOT_B_LEFT)
uboot_boot boot6
check "U-Boot fell back to B (A's attempts are used up)" eq "$booted" B
[ "$booted" = B ] && fallbacks=$((fallbacks + 1))
check "U-Boot decremented B: BOOT_B_LEFT $b_left_before -> $((b_left_before - 1))" env_is BOOT_B_LEFT $((b_left_before - 1))
check "twinslot reads the fallback: A tried" eq "$(group_boot A)" tried
give_cmdline
twinslot_boot
check "twinslot boot recorded the fallback (fell-back)" eq "$actions" "fell-back,confirmed"
check "A is out of BOOT_ORDER, BOOT_A_LEFT=0; B re-armed" \
  eval 'env_is BOOT_ORDER B && env_is BOOT_A_LEFT 0 && env_is BOOT_B_LEFT 3'
check "status: primary B, last outcome rolled-back" eval '[ "$(status primary)" = B ] && [ "$(last_outcome)" = rolled-back ]'
uboot_boot boot7
check "U-Boot boots B again, never the bad A" eq "$booted" B
give_cmdline
twinslot_boot

# --- 5. A trial that fails its health check: twinslot marks it bad, U-Boot returns ---------------
step "5. install 4.0 into A; it boots but fails its health check: twinslot rolls back"
bundle 4.0
install 4.0
uboot_boot boot8
check "U-Boot booted the trial A" eq "$booted" A
rm -f "$work/healthy"
give_cmdline
twinslot_boot
touch "$work/healthy"
check "twinslot boot rolled back" eq "$actions" "rolled-back"
check "A is out of BOOT_ORDER (twinslot's write)" eval 'env_is BOOT_ORDER B && env_is BOOT_A_LEFT 0'
uboot_boot boot9
check "U-Boot boots B" eq "$booted" B
give_cmdline
twinslot_boot
check "twinslot boot confirmed B" eq "$actions" confirmed

# --- 6. Power cuts: QEMU killed with SIGKILL ------------------------------------------------------
# The environment is single (this U-Boot has no CONFIG_SYS_REDUNDAND_ENVIRONMENT): saveenv
# erases the copy, then writes it, so a cut inside that window leaves no valid environment.
# A cut anywhere else must leave the old or the new environment, read alike by U-Boot,
# fw_printenv and twinslot. A torn environment must make twinslot refuse (exit 18), not guess.
step "6. power cuts (SIGKILL of QEMU) during boots, before and inside saveenv"
cuts=0 torn=0 old=0 new=0
# kill_at NAME PATTERN [DELAY]: power on, SIGKILL QEMU once PATTERN appears on the console.
kill_at() {
  local log=$work/$1.log
  : >"$log"
  "${qemu_cmd[@]}" -serial "file:$log" </dev/null >"$work/$1.qemu" 2>&1 &
  qemu_pid=$!
  local i=0
  while ! grep -E -q -- "$2" "$log" 2>/dev/null; do
    kill -0 "$qemu_pid" 2>/dev/null || break
    i=$((i + 1))
    [ $i -gt 12000 ] && break # 60 s
    sleep 0.005
  done
  [ -n "${3:-}" ] && sleep "$3"
  kill -9 "$qemu_pid" 2>/dev/null
  wait "$qemu_pid" 2>/dev/null
  qemu_pid=""
  tr -d '\r' <"$log" >"$log.txt"
}
# after_cut NAME: classify the environment (old, new or torn) and check the readers agree.
# before_left is BOOT_B_LEFT before the cut; U-Boot's save of this boot decrements it.
after_cut() {
  local fw=valid twinslot_rc left
  fw_printenv -c "$work/fw_env.config" >"$work/cut.env" 2>&1 || fw=invalid
  grep -q "Cannot read environment" "$work/cut.env" && fw=invalid
  ts status --json >/dev/null 2>"$work/status.err"
  twinslot_rc=$?
  if [ "$fw" = valid ]; then
    left=$(fwenv BOOT_B_LEFT)
    if [ "$left" = "$before_left" ]; then
      old=$((old + 1))
      note "cut $1: the old environment (BOOT_B_LEFT=$left): the cut came before saveenv"
    else
      new=$((new + 1))
      note "cut $1: the new environment (BOOT_B_LEFT $before_left -> $left): the cut came after saveenv"
    fi
    check "cut $1: twinslot reads the same intact environment" \
      eval '[ "$twinslot_rc" = 0 ] && [ "$(group_boot B)" != bad ]'
  else
    torn=$((torn + 1))
    note "cut $1: environment torn, no valid CRC: the cut came inside saveenv (single layout)"
    check "cut $1: twinslot refuses the torn environment with exit 18 ($(head -c 150 "$work/status.err"))" \
      eq "$twinslot_rc" 18
  fi
}
# Cuts outside saveenv: while U-Boot starts, and after the save while it prints the choice.
before_left=$(fwenv BOOT_B_LEFT)
kill_at cut1 "Loading Environment" 0
cuts=$((cuts + 1))
after_cut cut1
before_left=$(fwenv BOOT_B_LEFT)
kill_at cut2 "^TWINSLOT_BOOT=" 0
cuts=$((cuts + 1))
after_cut cut2
check "after cuts outside saveenv, the environment is intact" eq "$torn" 0
# More cuts after U-Boot's save and before twinslot boot ran use up B's attempts unconfirmed;
# then the script's last resort boots committed B again without decrementing.
while [ "$(fwenv BOOT_B_LEFT)" != 0 ]; do
  before_left=$(fwenv BOOT_B_LEFT)
  kill_at "cut$((cuts + 1))" "^TWINSLOT_BOOT=" 0
  cuts=$((cuts + 1))
  after_cut "cut$cuts"
  [ "$cuts" -gt 8 ] && break
done
check "cuts after saveenv used up B's attempts: BOOT_B_LEFT=0, B still committed" \
  eval 'env_is BOOT_B_LEFT 0 && env_is BOOT_B_TRIAL 0 && env_is BOOT_ORDER B'
uboot_boot boot10
check "U-Boot boots B after those cuts (the last resort: no bad CRC, BOOT_B_LEFT stays 0)" \
  eval '[ "$booted" = B ] && ! console_has boot10 "bad CRC" && console_has boot10 "^TWINSLOT_BOOT=B .*BOOT_B_LEFT=0"'
give_cmdline
twinslot_boot
check "twinslot boot confirmed B and re-armed it: BOOT_B_LEFT=3" eval '[ "$actions" = confirmed ] && env_is BOOT_B_LEFT 3'
# Cuts inside saveenv's erase/write window, each from the same intact environment.
cp "$flash" "$work/flash-before-cut.img"
before_left=$(fwenv BOOT_B_LEFT)
shown=""
for cut in "save1 Erasing.Flash 0" "save2 Writing.to.Flash 0" "save3 Writing.to.Flash 0.01" "save4 Writing.to.Flash 0.3"; do
  set -- $cut
  cp "$work/flash-before-cut.img" "$flash"
  kill_at "$1" "$2" "$3"
  cuts=$((cuts + 1))
  after_cut "$1"
  if [ "$torn" -gt 0 ] && [ -z "$shown" ]; then
    shown=1
    note "as documented for the single layout: a cut inside saveenv leaves no valid copy; power on:"
    kill_at boot-torn "no bootable slot group|^=> |TWINSLOT_BOOT="
    boots=$((boots + 1))
    check "U-Boot falls back to its built-in default environment" console_has boot-torn "bad CRC, using default environment"
    check "its distro boot runs boot.scr, which finds no slot group (BOOT_ORDER is gone)" \
      console_has boot-torn "no bootable slot group"
    # On a board whose default environment has the scheme (docs), U-Boot boots a group and
    # twinslot boot runs: it must not write an environment without bootcmd, on which U-Boot
    # would stop at its prompt rather than run its default environment.
    cmdline=" twinslot.slot=B"
    give_cmdline
    cat /proc/sys/kernel/random/uuid >"$work/boot-id"
    ts boot >"$work/boot-torn.out" 2>&1
    note "twinslot boot on the torn environment: exit $? ($(tail -1 "$work/boot-torn.out" | head -c 160))"
    check "twinslot boot wrote no environment without bootcmd" \
      eval '! fw_printenv -c "$work/fw_env.config" BOOT_ORDER >/dev/null 2>&1 || [ -n "$(fwenv bootcmd)" ]'
    kill_at boot-after-repair "no bootable slot group|^=> |TWINSLOT_BOOT="
    boots=$((boots + 1))
    check "U-Boot still runs a boot command afterwards (no bare prompt)" console_has boot-after-repair "Executing script"
  fi
done
cp "$work/flash-before-cut.img" "$flash"
note "power cuts: $cuts (old environment: $old, new: $new, torn by a cut inside saveenv: $torn)"

step "done in $(($(date +%s) - started)) s"
summary
[ "$violations" -eq 0 ]
