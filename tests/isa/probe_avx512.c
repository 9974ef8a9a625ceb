// Compiled, never run: an object with AVX-512 instructions for the ISA check's own test (see probe_amx.c).
#include <immintrin.h>

void difr_probe_avx512(float *x) {
    _mm512_storeu_ps(x, _mm512_add_ps(_mm512_loadu_ps(x), _mm512_set1_ps(1.0f)));
}
