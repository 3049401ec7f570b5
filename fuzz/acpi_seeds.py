#!/usr/bin/env python3
"""Turns a dump of a QEMU guest's BIOS area into a seed for fuzz/fuzz_acpi.c.

The dump is what QEMU's monitor writes with `pmemsave 0xd0000 0x30000 "FILE"`
once the firmware has built the ACPI tables (the seeds in fuzz/corpus/acpi
came from microvm, pc and q35 with qboot, QEMU 10.0). The seed holds the RSDP
and every table the walk can reach, each as one record of the harness's input
format (fuzz_acpi.h): an 8-byte little-endian physical address, a 4-byte
length, the bytes. The RSDP comes first: its address is the start info's hint.

  fuzz/acpi_seeds.py DUMP SEED
"""
import struct
import sys

BASE, SIZE = 0xD0000, 0x30000


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-1].strip())
    mem = open(sys.argv[1], "rb").read()
    if len(mem) != SIZE:
        sys.exit(f"acpi_seeds: {sys.argv[1]} is {len(mem)} bytes, not a 0x30000-byte dump")

    def at(pa, n):
        if pa < BASE or pa + n > BASE + SIZE:
            sys.exit(f"acpi_seeds: 0x{pa:x}+{n} is outside the dump")
        return mem[pa - BASE:pa - BASE + n]

    rsdp = next((BASE + o for o in range(0, SIZE - 36, 16) if mem[o:o + 8] == b"RSD PTR "), None)
    if rsdp is None:
        sys.exit("acpi_seeds: no RSDP in the dump")
    records, seen = [(rsdp, at(rsdp, 36))], set()

    def table(pa):
        if pa in seen or pa == 0:
            return b""
        seen.add(pa)
        t = at(pa, struct.unpack_from("<I", at(pa, 8), 4)[0])
        records.append((pa, t))
        return t

    rev = at(rsdp, 16)[15]
    xsdt = struct.unpack_from("<Q", at(rsdp, 36), 24)[0] if rev >= 2 else 0
    root = table(xsdt or struct.unpack_from("<I", at(rsdp, 20), 16)[0])
    width = 8 if xsdt else 4
    for off in range(36, len(root), width):
        pa = int.from_bytes(root[off:off + width], "little")
        t = table(pa)
        if t[:4] == b"FACP":
            dsdt = struct.unpack_from("<Q", t, 140)[0] if len(t) >= 148 else 0
            table(dsdt or struct.unpack_from("<I", t, 40)[0])
    with open(sys.argv[2], "wb") as out:
        for pa, data in records:
            out.write(struct.pack("<QI", pa, len(data)) + data)
    print(f"acpi_seeds: {len(records)} records, {sum(len(d) for _, d in records)} bytes of tables")


main()
