// The torch-cuda profile stands on curand's Philox4x32-10 (curand_init(seed, subsequence, offset): key = the
// seed's two halves, counter = (lo, hi of offset / 4, lo, hi of subsequence)). No GPU is available to these
// tests, so only the core is checked here, against the known-answer vectors that Random123 (the reference
// curand's Philox follows) publishes in tests/kat_vectors; the launch policy is pending a GPU
// (docs/conformance.md).
#include <gtest/gtest.h>

#include "difr/philox.h"

namespace {

struct Kat32 {
    difr::philox4x32_ctr ctr;
    difr::philox4x32_key key;
    difr::philox4x32_ctr want;
};

struct Kat64 {
    difr::philox4x64_ctr ctr;
    difr::philox4x64_key key;
    difr::philox4x64_ctr want;
};

TEST(TorchCudaPhilox, Random123KnownAnswers4x32) {
    const Kat32 kats[] = {
        {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
        {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
         {0xffffffff, 0xffffffff},
         {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
        {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
         {0xa4093822, 0x299f31d0},
         {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
    };
    int same = 0;
    for (const Kat32 &k : kats) {
        const difr::philox4x32_ctr got = difr::philox4x32_10(k.ctr, k.key);
        EXPECT_EQ(got, k.want);
        for (int i = 0; i < 4; ++i) same += got[i] == k.want[i];
    }
    RecordProperty("compared", "12");
    RecordProperty("bit_exact", std::to_string(same));
}

TEST(TorchCudaPhilox, Random123KnownAnswers4x64) {
    const Kat64 kats[] = {
        {{0, 0, 0, 0},
         {0, 0},
         {0x16554d9eca36314c, 0xdb20fe9d672d0fdc, 0xd7e772cee186176b, 0x7e68b68aec7ba23b}},
        {{~0ull, ~0ull, ~0ull, ~0ull},
         {~0ull, ~0ull},
         {0x87b092c3013fe90b, 0x438c3c67be8d0224, 0x9cc7d7c69cd777b6, 0xa09caebf594f0ba0}},
        {{0x243f6a8885a308d3, 0x13198a2e03707344, 0xa4093822299f31d0, 0x082efa98ec4e6c89},
         {0x452821e638d01377, 0xbe5466cf34e90c6c},
         {0xa528f45403e61d95, 0x38c72dbd566e9788, 0xa5a1610e72fd18b5, 0x57bd43b5e52b7fe6}},
    };
    int same = 0;
    for (const Kat64 &k : kats) {
        const difr::philox4x64_ctr got = difr::philox4x64_10(k.ctr, k.key);
        EXPECT_EQ(got, k.want);
        for (int i = 0; i < 4; ++i) same += got[i] == k.want[i];
    }
    RecordProperty("compared", "12");
    RecordProperty("bit_exact", std::to_string(same));
}

}  // namespace
