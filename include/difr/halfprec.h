// 16-bit floating-point formats on the wire: bfloat16 (TOPLOC's activations, torch's bf16) and IEEE
// binary16 (Activation-DiFR fingerprints). Conversions are done in software with round-to-nearest-even, so
// every machine produces the same bits whatever its SIMD extensions. Pure functions.
#pragma once

#include <cstdint>

namespace difr {

// bfloat16: the top 16 bits of a float32, rounded to nearest even; NaN becomes the quiet NaN 0x7FC0 (with
// the input's sign), as torch's c10::BFloat16 does.
uint16_t bf16_from_float(float x);
float bf16_to_float(uint16_t bits);

// IEEE binary16 with round-to-nearest-even, subnormals and overflow to infinity.
uint16_t fp16_from_float(float x);
float fp16_to_float(uint16_t bits);

}  // namespace difr
