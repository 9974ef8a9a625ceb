#include "difr/philox.h"

namespace difr {

namespace {

inline void mulhilo32(uint32_t a, uint32_t b, uint32_t &hi, uint32_t &lo) {
    const uint64_t p = uint64_t(a) * uint64_t(b);
    hi = uint32_t(p >> 32);
    lo = uint32_t(p);
}

inline void mulhilo64(uint64_t a, uint64_t b, uint64_t &hi, uint64_t &lo) {
    const unsigned __int128 p = (unsigned __int128)a * b;
    hi = uint64_t(p >> 64);
    lo = uint64_t(p);
}

}  // namespace

philox4x32_ctr philox4x32_10(philox4x32_ctr c, philox4x32_key k) {
    for (int round = 0; round < 10; ++round) {
        if (round > 0) {
            k[0] += 0x9E3779B9u;
            k[1] += 0xBB67AE85u;
        }
        uint32_t hi0, lo0, hi1, lo1;
        mulhilo32(0xD2511F53u, c[0], hi0, lo0);
        mulhilo32(0xCD9E8D57u, c[2], hi1, lo1);
        c = {hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0};
    }
    return c;
}

philox4x64_ctr philox4x64_10(philox4x64_ctr c, philox4x64_key k) {
    for (int round = 0; round < 10; ++round) {
        if (round > 0) {
            k[0] += 0x9E3779B97F4A7C15ull;
            k[1] += 0xBB67AE8584CAA73Bull;
        }
        uint64_t hi0, lo0, hi1, lo1;
        mulhilo64(0xD2E7470EE14C6C93ull, c[0], hi0, lo0);
        mulhilo64(0xCA5A826395121157ull, c[2], hi1, lo1);
        c = {hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0};
    }
    return c;
}

}  // namespace difr
