// Philox known-answer vectors from Random123's tests/kat_vectors (format: counter[4] key[2] -> output[4]).
// Passing them pins the multipliers, the Weyl key increments, the round structure and the round count.
#include <gtest/gtest.h>

#include "difr/philox.h"

namespace {

using difr::philox4x32_10;
using difr::philox4x64_10;

TEST(Philox4x32_10, KnownAnswerZero) {
    // philox4x32 10 00000000 00000000 00000000 00000000 00000000 00000000
    const difr::philox4x32_ctr out = philox4x32_10({0, 0, 0, 0}, {0, 0});
    const difr::philox4x32_ctr want = {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u};
    EXPECT_EQ(out, want);
}

TEST(Philox4x32_10, KnownAnswerAllOnes) {
    // philox4x32 10 ffffffff ffffffff ffffffff ffffffff ffffffff ffffffff
    const uint32_t f = 0xffffffffu;
    const difr::philox4x32_ctr out = philox4x32_10({f, f, f, f}, {f, f});
    const difr::philox4x32_ctr want = {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu};
    EXPECT_EQ(out, want);
}

TEST(Philox4x32_10, KnownAnswerPiDigits) {
    // philox4x32 10 243f6a88 85a308d3 13198a2e 03707344 a4093822 299f31d0 (hex digits of pi)
    const difr::philox4x32_ctr out =
        philox4x32_10({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, {0xa4093822u, 0x299f31d0u});
    const difr::philox4x32_ctr want = {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u};
    EXPECT_EQ(out, want);
}

TEST(Philox4x64_10, KnownAnswerZero) {
    // philox4x64 10 0 0 0 0 0 0
    const difr::philox4x64_ctr out = philox4x64_10({0, 0, 0, 0}, {0, 0});
    const difr::philox4x64_ctr want = {0x16554d9eca36314cull, 0xdb20fe9d672d0fdcull, 0xd7e772cee186176bull,
                                       0x7e68b68aec7ba23bull};
    EXPECT_EQ(out, want);
}

TEST(Philox4x64_10, KnownAnswerAllOnes) {
    // philox4x64 10 ffffffffffffffff x6
    const uint64_t f = 0xffffffffffffffffull;
    const difr::philox4x64_ctr out = philox4x64_10({f, f, f, f}, {f, f});
    const difr::philox4x64_ctr want = {0x87b092c3013fe90bull, 0x438c3c67be8d0224ull, 0x9cc7d7c69cd777b6ull,
                                       0xa09caebf594f0ba0ull};
    EXPECT_EQ(out, want);
}

TEST(Philox4x64_10, KnownAnswerPiDigits) {
    // philox4x64 10 243f6a8885a308d3 13198a2e03707344 a4093822299f31d0 082efa98ec4e6c89
    //               452821e638d01377 be5466cf34e90c6c
    const difr::philox4x64_ctr out = philox4x64_10(
        {0x243f6a8885a308d3ull, 0x13198a2e03707344ull, 0xa4093822299f31d0ull, 0x082efa98ec4e6c89ull},
        {0x452821e638d01377ull, 0xbe5466cf34e90c6cull});
    const difr::philox4x64_ctr want = {0xa528f45403e61d95ull, 0x38c72dbd566e9788ull, 0xa5a1610e72fd18b5ull,
                                       0x57bd43b5e52b7fe6ull};
    EXPECT_EQ(out, want);
}

TEST(Philox4x32_10, IsAPureFunctionOfCounterAndKey) {
    // Counter-based: no hidden state, so the same inputs give the same block however often they are asked.
    const difr::philox4x32_ctr a = philox4x32_10({7, 0, 0, 0}, {42, 0});
    const difr::philox4x32_ctr b = philox4x32_10({7, 0, 0, 0}, {42, 0});
    EXPECT_EQ(a, b);
    EXPECT_NE(a, philox4x32_10({8, 0, 0, 0}, {42, 0}));
    EXPECT_NE(a, philox4x32_10({7, 0, 0, 0}, {43, 0}));
}

}  // namespace
