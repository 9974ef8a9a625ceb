#!/usr/bin/env bash
# Shows the root cause of the AMX crash (docs/engine.md, "Build policy") on any x86-64 machine with GCC: a
# tile configuration filled in on the stack and handed to _tile_loadconfig, compiled with -O2 -mamx-tile
# like ggml's ggml_tile_config_init. GCC 12's amxtileintrin.h declares the ldtilecfg operand as the 8 bytes
# of a pointer ("m" (*(const void **)config)), so the compiler drops the stores to the rest of the 64-byte
# configuration (colsb at bytes 16-47, rows at 48-63): ldtilecfg then loads tiles of 0 rows, and the first
# tile instruction (tilezero) raises #UD: SIGILL. Prints the disassembly and how many of the 16 stores
# survived.
set -euo pipefail
CXX="${CXX:-g++}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/cfg.cpp" <<'CPP'
#include <immintrin.h>
#include <cstdint>
struct TileConfig {
    uint8_t palette_id, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
};
void tile_configure() {
    alignas(64) TileConfig c = {};
    c.palette_id = 1;
    for (int i = 0; i < 8; ++i) {
        c.rows[i] = 16;
        c.colsb[i] = 64;
    }
    _tile_loadconfig(&c);
}
CPP
"$CXX" -O2 -mamx-tile -c "$tmp/cfg.cpp" -o "$tmp/cfg.o"
"$CXX" --version | head -1
grep -n "ldtilecfg" "$(dirname "$("$CXX" -print-file-name=include/amxtileintrin.h)")/amxtileintrin.h" || true
objdump -d --no-show-raw-insn "$tmp/cfg.o" | sed -n '/<_Z14tile_configurev>:/,/ret/p'
# A correct compile writes the palette byte and the 16 rows/colsb entries before ldtilecfg (as separate
# stores or a few wide ones from constants); GCC 12 writes 16 zero bytes and the palette byte only.
stores=$(objdump -d --no-show-raw-insn "$tmp/cfg.o" | sed -n '/<_Z14tile_configurev>:/,/ldtilecfg/p' |
    grep -cE '^ +[0-9a-f]+:\s+mov[a-z]*\s+[^,]+,-?(0x[0-9a-f]+)?\(%r[sb]p\)' || true)
echo "store instructions into the configuration before ldtilecfg: $stores"
