#!/usr/bin/env python3
"""VM rig only: checks twinslot's journald entries that the guest printed on the serial console
(scripts/vm/guest/vmtest-step: `journalctl -b -o json` lines tagged journal-units and
journal-install). Prints one summary line; exits 1 with the reasons when a check fails.

  check-journal.py LOG committed VERSION SLOT   an install of VERSION into SLOT, then its commit
  check-journal.py LOG fell-back VERSION        the bootloader fell back from VERSION's trial
"""
import json
import sys

log, mode, version = sys.argv[1], sys.argv[2], sys.argv[3]
entries = {"journal-units": [], "journal-install": []}
with open(log, "rb") as f:
    for raw in f:
        line = raw.decode("utf-8", "replace").strip("\r\n")
        for tag in entries:
            marker = f"VMTEST {tag}: "
            if marker in line:
                text = line.split(marker, 1)[1]
                try:
                    entries[tag].append(json.loads(text))
                except ValueError:
                    entries[tag].append({"unparsed": text})
units, install = entries["journal-units"], entries["journal-install"]
structured = [e for e in units + install if "TWINSLOT_PHASE" in e]
problems = []


def need(condition, what):
    if not condition:
        problems.append(what)


need(all(e.get("SYSLOG_IDENTIFIER") == "twinslot" for e in structured),
     "an entry with TWINSLOT_PHASE lacks SYSLOG_IDENTIFIER=twinslot")
need(not any("unparsed" in e for e in units + install), "a journalctl -o json line is not JSON")
# No progress in the journal: an install logs BEGIN, one STAGED per image, FLIPPED, nothing else.
for e in structured:
    message = e.get("MESSAGE", "")
    need("%" not in message and "progress" not in message.lower(), f"progress in the journal: {message!r}")
decisions = [e for e in units if e.get("_SYSTEMD_UNIT") == "twinslot-boot.service" and "TWINSLOT_PHASE" in e]
if mode == "committed":
    slot = sys.argv[4]
    phases = [e.get("TWINSLOT_PHASE") for e in install]
    need(phases == ["begin", "staged", "flipped"], f"install entries {phases}, want begin, staged, flipped")
    need(all(e.get("TWINSLOT_BUNDLE_VERSION") == version and e.get("TWINSLOT_SLOT") == slot for e in install),
         f"install entries without TWINSLOT_BUNDLE_VERSION={version} TWINSLOT_SLOT={slot}")
    ids = {e.get("TWINSLOT_OPERATION_ID") for e in install}
    need(len(ids) == 1 and None not in ids, f"install entries carry operation ids {ids}")
    need(all(len(e.get("TWINSLOT_BUNDLE_HASH", "")) == 64 for e in install if e.get("TWINSLOT_PHASE") == "begin"),
         "the begin entry lacks TWINSLOT_BUNDLE_HASH")
    committed = [e for e in decisions if e.get("TWINSLOT_PHASE") == "committed"]
    need(len(committed) == 1, f"{len(committed)} committed entries from twinslot-boot.service, want 1")
    need(all(e.get("TWINSLOT_OPERATION_ID") in ids and e.get("TWINSLOT_BUNDLE_VERSION") == version for e in committed),
         "the commit entry is not the install's operation")
    summary = (f"install {len(install)} entries ({', '.join(phases)}), twinslot-boot.service "
               f"{', '.join(e.get('TWINSLOT_PHASE') for e in decisions)}; operation {next(iter(ids), '?')}")
elif mode == "fell-back":
    fell = [e for e in decisions if e.get("TWINSLOT_PHASE") == "fell-back"]
    need(len(fell) == 1, f"{len(fell)} fell-back entries from twinslot-boot.service, want 1")
    need(all(e.get("TWINSLOT_BUNDLE_VERSION") == version and e.get("TWINSLOT_REASON") and e.get("PRIORITY") == "4"
             for e in fell), "the fell-back entry lacks its version, its reason or warning priority")
    summary = f"twinslot-boot.service: {'; '.join(e.get('MESSAGE', '') for e in fell)}"
else:
    sys.exit(f"check-journal: unknown mode {mode}")
print(summary if not problems else "; ".join(problems))
sys.exit(1 if problems else 0)
