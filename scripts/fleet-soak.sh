#!/usr/bin/env bash
# A fleet soak on loopback: goosebit plus N simulated devices (default 20), each with its own
# long-running `twinslot agent` process whose reboot command is `twinslot sim reboot` of its
# device. One release is rolled out to all; goosebit is stopped and started again (same
# database, same port) in the middle of the rollout; one device's health check fails, so it
# rolls back. The script waits until every device's action is closed on the server and ends with
#
#   devices: N, committed: C, rolled back: R, stuck: 0
#   server requests: K
#
# (K: the DDI requests in goosebit's access log, both runs). It exits non-zero when a device is
# stuck after the deadline or the counts are not N-1 committed and 1 rolled back.
#
# Usage: fleet-soak.sh [DEVICES] [DEADLINE_SECONDS]   (KEEP=1 keeps the work directory)
# Needs: a built twinslot (TWINSLOT_BIN, default .build/debug/twinslot), the goosebit venv of
# scripts/setup.sh, openssl, zstd, cpio.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20}
DEADLINE=${2:-240}
B=$(realpath "${TWINSLOT_BIN:-.build/debug/twinslot}")
PY=/opt/twinslot-test/goosebit-venv/bin/python
GB() { "$PY" scripts/goosebit.py "$@"; }
W=$(mktemp -d /tmp/twinslot-soak-XXXXXX)
[ "$N" -ge 2 ] || { echo "fleet-soak.sh: at least 2 devices" >&2; exit 64; }

pids=()
cleanup() {
  # SIGKILL: a test runner may hand its children a blocked SIGTERM, and a simulated device's
  # power cut is what the agent is built for anyway.
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  GB stop --dir "$W/gb" 2>/dev/null || true
  if [ -n "${KEEP:-}" ]; then echo "kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
started=$(date +%s)
say() { echo "[$(($(date +%s) - started))s] $*" >&2; }

bash scripts/make-test-pki.sh "$W/pki" >/dev/null

# The release: tiny raw images (make-swu.sh writes raw images only), security version 2.
head -c 65536 /dev/urandom > "$W/rootfs.img"
head -c 4096 /dev/urandom > "$W/firmware.img"
bash scripts/make-swu.sh "$W/release-2.0.swu" --version 2.0 --security-version 2 --hardware twinslot-sim \
  --image rootfs="$W/rootfs.img" --image firmware="$W/firmware.img" \
  --cert "$W/pki/signer.pem" --key "$W/pki/signer.key" --chain "$W/pki/signer-chain.pem"

GB start --dir "$W/gb" --poll-time 00:00:02 >/dev/null
SERVER=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$W/gb/server.json")
PORT=${SERVER##*:}
SOFTWARE=$(GB upload --dir "$W/gb" "$W/release-2.0.swu" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["id"])')
say "goosebit at $SERVER, release 2.0 is software $SOFTWARE"

# The devices: no directory slot (the .swu has raw images only); the reboot command is the
# simulated power cycle; the last device's health check always fails.
for i in $(seq 1 "$N"); do
  dev="$W/dev$i"
  "$B" sim init "$dev" --keyring "$W/pki/keyring.pem" >/dev/null
  failing=0
  [ "$i" -eq "$N" ] && failing=1
  "$PY" - "$dev/system.toml" "$B" "$dev" "$failing" <<'PY'
import json, re, sys
path, binary, device, failing = sys.argv[1:5]
text = open(path).read()
text = re.sub(r"\[slots\.apps\]\n(?:.*\n){4}\n", "", text)
text = re.sub(r"reboot-command = .*", "reboot-command = " + json.dumps([binary, "sim", "reboot", device]), text)
if failing == "1":
    text = re.sub(r'(?m)^command = \[.*\]', 'command = ["/bin/sh", "-c", "echo soak: this device fails its check; exit 1"]', text)
open(path, "w").write(text)
PY
done

start_agent() {
  local i=$1
  TWINSLOT_CONFIG="$W/dev$i/system.toml" "$B" agent --server "$SERVER" --controller-id "soak-$i" \
    --backoff-initial 1 --backoff-max 4 >>"$W/agent$i.log" 2>&1 &
  pids+=($!)
}
for i in $(seq 1 "$N"); do start_agent "$i"; done
say "$N agents started"

devices_json() { GB devices --dir "$W/gb" 2>/dev/null || echo '[]'; }
count() { # count STATE...: devices of this soak whose last_state is one of STATE
  devices_json | "$PY" -c '
import json, sys
states = set(sys.argv[1:])
print(sum(1 for d in json.load(sys.stdin) if d["id"].startswith("soak-") and d["last_state"] in states))' "$@"
}

# Every device registers (first poll + configData), then the rollout goes to all of them.
until [ "$(count Registered Unknown Finished Error Running)" -ge "$N" ]; do
  [ $(($(date +%s) - started)) -lt "$DEADLINE" ] || { say "devices did not register"; exit 1; }
  sleep 1
done
for i in $(seq 1 "$N"); do GB assign --dir "$W/gb" --device "soak-$i" --software rollout; done
GB rollout --dir "$W/gb" --software "$SOFTWARE"
say "rollout of software $SOFTWARE to $N devices"

# Mid-rollout: once a few devices are done, the server goes away for a few seconds.
until [ "$(count Finished Error)" -ge $((N / 4)) ] || [ $(($(date +%s) - started)) -ge "$DEADLINE" ]; do sleep 0.5; done
say "restarting goosebit ($(count Finished Error) of $N done)"
GB stop --dir "$W/gb"
sleep 3
GB start --dir "$W/gb" --port "$PORT" --poll-time 00:00:02 >/dev/null
say "goosebit is back"

while [ "$(count Finished Error)" -lt "$N" ] && [ $(($(date +%s) - started)) -lt "$DEADLINE" ]; do sleep 1; done

# The verdict, from both sides: the server's state and the device's journal.
committed=0 rolled=0 stuck=0
states=$(devices_json)
for i in $(seq 1 "$N"); do
  server_state=$(echo "$states" | "$PY" -c '
import json, sys
print(next((d["last_state"] for d in json.load(sys.stdin) if d["id"] == sys.argv[1]), "missing"))' "soak-$i")
  outcome=$(TWINSLOT_CONFIG="$W/dev$i/system.toml" "$B" status --json | "$PY" -c '
import json, sys
s = json.load(sys.stdin)
print((s.get("last_operation") or s.get("last") or {}).get("outcome", "none") if s.get("operation") is None else "pending")')
  if [ "$server_state" = Finished ] && [ "$outcome" = committed ]; then committed=$((committed + 1))
  elif [ "$server_state" = Error ] && [ "$outcome" = rolled-back ]; then rolled=$((rolled + 1))
  else stuck=$((stuck + 1)); say "soak-$i: server $server_state, device $outcome"; fi
done
requests=$(grep -c '/controller/v1/' "$W/gb/server.log" || true)
say "done"
echo "devices: $N, committed: $committed, rolled back: $rolled, stuck: $stuck"
echo "server requests: $requests"
[ "$stuck" -eq 0 ] && [ "$committed" -eq $((N - 1)) ] && [ "$rolled" -eq 1 ]
