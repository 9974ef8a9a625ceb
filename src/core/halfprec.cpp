#include "difr/halfprec.h"

#include <bit>
#include <cmath>

namespace difr {

uint16_t bf16_from_float(float x) {
    const uint32_t u = std::bit_cast<uint32_t>(x);
    if (std::isnan(x)) return uint16_t((u >> 16) | 0x0040u);
    const uint32_t rounding = 0x7FFFu + ((u >> 16) & 1u);
    return uint16_t((u + rounding) >> 16);
}

float bf16_to_float(uint16_t bits) {
    return std::bit_cast<float>(uint32_t(bits) << 16);
}

uint16_t fp16_from_float(float x) {
    const uint32_t u = std::bit_cast<uint32_t>(x);
    const uint16_t sign = uint16_t((u >> 16) & 0x8000u);
    const uint32_t a = u & 0x7FFFFFFFu;
    if (a > 0x7F800000u) return uint16_t(sign | 0x7E00u | ((a >> 13) & 0x3FFu));  // NaN stays NaN
    if (a >= 0x477FF000u) return uint16_t(sign | 0x7C00u);  // rounds to >= 65520: infinity
    if (a < 0x38800000u) {
        // Below the smallest normal half (2^-14): a subnormal, i.e. a multiple of 2^-24, rounded to even.
        if (a < 0x33000000u) return sign;  // below 2^-25: rounds to zero (2^-25 itself ties to even zero)
        const uint32_t mant = (a & 0x7FFFFFu) | 0x800000u;
        const int shift = 126 - int(a >> 23);  // value / 2^-24 = mant * 2^(e - 126): bits to drop
        const uint32_t kept = mant >> shift;
        const uint32_t rest = mant & ((1u << shift) - 1u);
        const uint32_t half = 1u << (shift - 1);
        uint32_t h = kept;
        if (rest > half || (rest == half && (kept & 1u))) ++h;
        return uint16_t(sign | h);
    }
    // Normal: rebias the exponent (127 -> 15) and round the mantissa from 23 to 10 bits, to nearest even.
    const uint32_t r = a - 0x38000000u;  // exponent - 112, in place
    const uint32_t kept = r >> 13;
    const uint32_t rest = r & 0x1FFFu;
    uint32_t h = kept;
    if (rest > 0x1000u || (rest == 0x1000u && (kept & 1u))) ++h;  // a carry may move into the exponent: fine
    return uint16_t(sign | h);
}

float fp16_to_float(uint16_t bits) {
    const uint32_t sign = uint32_t(bits & 0x8000u) << 16;
    const uint32_t e = (bits >> 10) & 0x1Fu;
    const uint32_t m = bits & 0x3FFu;
    if (e == 0x1F) return std::bit_cast<float>(sign | 0x7F800000u | (m << 13));
    if (e == 0) {
        const float v = std::ldexp(float(m), -24);  // exact: m < 2^10
        return sign ? -v : v;
    }
    return std::bit_cast<float>(sign | ((e + 112u) << 23) | (m << 13));
}

}  // namespace difr
