#!/usr/bin/env python3
"""Finds flash_info[1] of the running qemu_arm64 U-Boot in a RAM dump (QEMU's pmemsave).

Usage: find-flash-info.py MONITOR_SOCKET DUMP_FILE
Asks QEMU's monitor to dump the top 16 MiB of the guest's 256 MiB (where U-Boot relocates
itself), finds the CFI driver's flash_info_t of the second bank (sector table starting
0x4000000, 0x4020000: 128 KiB sectors as U-Boot sees QEMU virt's flash), checks the fields the
workaround touches, and prints the struct's address in hex (no 0x).

flash_info_t (include/flash.h, U-Boot 2023.01, aarch64, CONFIG_SYS_MAX_FLASH_SECT=256):
  +0 size (ulong), +8 sector_count (ushort), +16 flash_id, +24 start[256] (ulong),
  +2072 protect[256], +2328 portwidth, +2329 chipwidth, +2330 chip_lsb, +2332 buffer_size (ushort)
"""
import os
import socket
import struct
import sys
import time

BASE = 0x4F000000
LENGTH = 0x1000000

sock_path, dump = sys.argv[1], sys.argv[2]
monitor = socket.socket(socket.AF_UNIX)
monitor.connect(sock_path)
monitor.settimeout(10)
time.sleep(0.2)
monitor.send(b'pmemsave 0x%x 0x%x "%s"\n' % (BASE, LENGTH, dump.encode()))
deadline = time.time() + 20
while time.time() < deadline and (not os.path.exists(dump) or os.path.getsize(dump) < LENGTH):
    time.sleep(0.1)
time.sleep(0.2)
monitor.send(b"quit\n")
monitor.close()

memory = open(dump, "rb").read()
if len(memory) < LENGTH:
    sys.exit("find-flash-info: the RAM dump is incomplete")
found = []
pattern = struct.pack("<QQ", 0x4000000, 0x4020000)
at = memory.find(pattern)
while at != -1:
    base = at - 24
    size, sectors = struct.unpack_from("<QH", memory, base)
    portwidth, chipwidth = struct.unpack_from("<BB", memory, base + 2328)
    (buffer_size,) = struct.unpack_from("<H", memory, base + 2332)
    if size == 0x2000000 and sectors == 256 and (portwidth, chipwidth) == (2, 2) and buffer_size == 0x800:
        found.append(BASE + base)
    at = memory.find(pattern, at + 1)
if len(found) != 1:
    sys.exit("find-flash-info: expected one flash_info for bank 2, found %d" % len(found))
print("%x" % found[0])
