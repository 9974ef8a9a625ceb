// Philox counter-based generators (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC11),
// bit-compatible with Random123's philox4x32_R(10, ...) and philox4x64_R(10, ...).
#pragma once

#include <array>
#include <cstdint>

namespace difr {

using philox4x32_ctr = std::array<uint32_t, 4>;
using philox4x32_key = std::array<uint32_t, 2>;
using philox4x64_ctr = std::array<uint64_t, 4>;
using philox4x64_key = std::array<uint64_t, 2>;

// Ten rounds, as Random123's default and Triton's tl.randint.
philox4x32_ctr philox4x32_10(philox4x32_ctr ctr, philox4x32_key key);
philox4x64_ctr philox4x64_10(philox4x64_ctr ctr, philox4x64_key key);

}  // namespace difr
