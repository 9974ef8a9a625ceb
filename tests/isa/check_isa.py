#!/usr/bin/env python3
"""Fails when a binary holds an instruction outside the ISA level it was built for (docs/engine.md, "Build
policy"). Reads `objdump -d` of the whole binary: no CPU needs to have the instructions to find them.

  check_isa.py BINARY ISA     ISA: x86-64-v3 (AVX2, FMA, F16C, BMI2) or x86-64-v2 (SSE4.2)

x86-64-v3 forbids every EVEX-encoded instruction (AVX-512 in any form: zmm, opmask, or the EVEX forms of
ymm/xmm instructions; in 64-bit mode an instruction whose first byte after its prefixes is 0x62 is EVEX), AMX
(tile*, ldtilecfg, sttilecfg, tdp*) and AVX-VNNI ({vex} vpdp*). x86-64-v2 also forbids VEX (0xc4/0xc5: AVX).
"""
import re
import subprocess
import sys

PREFIXES = {"26", "2e", "36", "3e", "64", "65", "66", "67", "f0", "f2", "f3"}
AMX = re.compile(r"^(tile\w*|ldtilecfg|sttilecfg|tdp\w+|tcmmimfp16ps|tcmmrlfp16ps)\b")
VNNI_VEX = re.compile(r"^\{vex\}\s*vpdp(bu|ws)sds?\b")


def first_opcode_byte(raw):
    """The first byte after legacy prefixes (a REX byte counts as the opcode's: VEX and EVEX never follow one)."""
    for b in raw:
        if b not in PREFIXES:
            return b
    return None


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in ("x86-64-v3", "x86-64-v2"):
        sys.exit(__doc__)
    binary, isa = sys.argv[1], sys.argv[2]
    proc = subprocess.Popen(["objdump", "-d", "-w", binary], stdout=subprocess.PIPE, text=True,
                            errors="replace")
    function, bad, checked = "?", [], 0
    line_re = re.compile(r"^\s*[0-9a-f]+:\t([0-9a-f ]+)\t(.*)$")
    for line in proc.stdout:
        if line.endswith(">:\n"):
            function = line.split("<", 1)[-1].rstrip(">:\n")
            continue
        m = line_re.match(line)
        if not m:
            continue
        checked += 1
        raw = m.group(1).split()
        text = m.group(2).strip()
        op = first_opcode_byte(raw)
        why = None
        if op == "62":
            why = "EVEX (AVX-512)"
        elif AMX.match(text):
            why = "AMX"
        elif VNNI_VEX.match(text):
            why = "AVX-VNNI"
        elif isa == "x86-64-v2" and op in ("c4", "c5"):
            why = "VEX (AVX)"
        if why and len(bad) < 20:
            bad.append(f"  {why}: {text}   in {function}")
        elif why:
            bad.append(None)
    if proc.wait() != 0:
        sys.exit(f"objdump -d {binary} failed")
    if checked == 0:
        sys.exit(f"objdump found no instructions in {binary}")
    if bad:
        shown = [b for b in bad if b]
        print(f"{binary}: {len(bad)} instructions outside {isa} (first {len(shown)}):")
        print("\n".join(shown))
        sys.exit(1)
    print(f"{binary}: {checked} instructions, all within {isa}")


if __name__ == "__main__":
    main()
