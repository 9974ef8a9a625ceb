// `difr noise`'s input: a profile name, a seed (any uint64), a position (any int64, negative too) and a token
// column (any uint32). noise_sample must return u in [0, 1] and a finite or infinite Gumbel value without
// undefined behaviour (overflowing counters, shifts) for every counter-based profile.
#include <cmath>
#include <cstring>

#include "difr/noise.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    using namespace difr;
    if (size < 8 + 8 + 4) return 0;
    uint64_t seed;
    int64_t pos;
    uint32_t column;
    std::memcpy(&seed, data, 8);
    std::memcpy(&pos, data + 8, 8);
    std::memcpy(&column, data + 16, 4);
    const std::string name = fuzz::fuzz_text(data + 20, size - 20);
    const auto profile = noise_profile_from_name(name);
    if (!profile || !noise_profile_counter_based(*profile)) return 0;
    const NoiseSample s = noise_sample(*profile, seed, pos, column);
    if (!(s.u >= 0.0 && s.u <= 1.0)) fuzz::fuzz_fail("u outside [0, 1] for " + name);
    if (std::isnan(s.gumbel)) fuzz::fuzz_fail("a NaN Gumbel value for " + name);
    if (s.words.empty()) fuzz::fuzz_fail("no random words for " + name);
    return 0;
}
