// Compiled, never run: an object with AMX instructions, so that the ISA check is seen to catch them
// (tests/CMakeLists.txt, isa.detects_*). A check that never fails proves nothing.
#include <immintrin.h>

void difr_probe_amx(void *config) {
    _tile_loadconfig(config);
    _tile_zero(0);
    _tile_release();
}
