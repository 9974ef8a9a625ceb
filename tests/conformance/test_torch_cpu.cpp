// The torch-cpu noise profile against torch's CPU generator (tests/data/conformance/torch_cpu_noise.json,
// made by tools/conformance/torch_cpu.py): torch.Generator().manual_seed(seed), then exponential_ row by row.
#include <gtest/gtest.h>

#include <map>
#include <stdexcept>

#include "conformance_data.h"
#include "difr/noise.h"

namespace {

using namespace conformance;
using difr::NoiseProfile;

TEST(TorchCpuConformance, ExponentialRowsAreBitExact) {
    const json g = golden_load("torch_cpu_noise.json");
    // The golden lists rows 0, 1, 2 of each (seed, V) in order; one generator per (seed, V) replays them.
    std::map<std::pair<uint64_t, int32_t>, difr::TorchCpuGenerator> gens;
    Tally t;
    int64_t hashed = 0;
    for (const auto &c : g.at("cases")) {
        const uint64_t seed = c.at("seed");
        const int32_t n_vocab = c.at("n_vocab");
        auto it = gens.try_emplace({seed, n_vocab}, seed).first;
        std::vector<float> e((size_t)n_vocab);
        it->second.exponential(e);
        EXPECT_EQ(fnv1a64(e), c.at("e_fnv1a64").get<std::string>())
            << "seed " << seed << " V " << n_vocab << " row " << c.at("row");
        hashed += n_vocab;
        const auto &tokens = c.at("tokens");
        for (size_t i = 0; i < tokens.size(); ++i) {
            const float want = f32_from_bits(c.at("e_bits")[i]);
            t.add_ulp(e[tokens[i].get<size_t>()], want);
            EXPECT_EQ(f32_bits(e[tokens[i].get<size_t>()]), f32_bits(want)) << "token " << tokens[i];
        }
    }
    t.record();
    RecordProperty("hashed", std::to_string(hashed));  // values covered by the whole-row hashes
}

TEST(TorchCpuConformance, SeedKeepsOnlyItsLow32Bits) {
    // at::mt19937 seeds with the low word only, so 2^32 + 42 and 42 are the same stream (the golden has
    // both).
    difr::TorchCpuGenerator a(42), b((uint64_t(1) << 32) + 42);
    std::vector<float> ea(1000), eb(1000);
    a.exponential(ea);
    b.exponential(eb);
    EXPECT_EQ(fnv1a64(ea), fnv1a64(eb));
}

// token-difr's G = -torch.log(E): torch's vectorised float log and glibc's logf differ in the last bit on a
// few percent of inputs, so G is compared to 1 ulp (E, above, is exact).
TEST(TorchCpuConformance, GumbelWithinOneUlpOfTorchLog) {
    const json g = golden_load("torch_cpu_noise.json");
    std::map<std::pair<uint64_t, int32_t>, std::unique_ptr<difr::NoiseStream>> streams;
    Tally t;
    for (const auto &c : g.at("cases")) {
        const uint64_t seed = c.at("seed");
        const int32_t n_vocab = c.at("n_vocab");
        auto &s = streams[{seed, n_vocab}];
        if (!s) s = difr::noise_stream_make(NoiseProfile::torch_cpu, seed, n_vocab);
        s->seek(1000 + c.at("row").get<int64_t>());  // any start position; then one row per position
        const auto &tokens = c.at("tokens");
        for (size_t i = 0; i < tokens.size(); ++i) {
            const float got = s->gumbel(tokens[i]);
            const float want = f32_from_bits(c.at("g_bits")[i]);
            t.add_ulp(got, want);
            EXPECT_LE(ulp_distance(got, want), 1) << "token " << tokens[i] << ": " << got << " vs " << want;
        }
    }
    t.record();
}

TEST(TorchCpuConformance, StreamOnlyMovesForward) {
    auto s = difr::noise_stream_make(NoiseProfile::torch_cpu, 7, 16);
    s->seek(10);
    const float g10 = s->gumbel(3);
    s->seek(10);  // the current row again: kept, not redrawn
    EXPECT_EQ(f32_bits(s->gumbel(3)), f32_bits(g10));
    s->seek(11);
    EXPECT_THROW(s->seek(13), std::logic_error);  // a skipped row would shift every later row
    EXPECT_THROW(s->seek(10), std::logic_error);
    // The row after 11 is still the third draw of the generator.
    s->seek(12);
    difr::TorchCpuGenerator gen(7);
    std::vector<float> e(16);
    for (int r = 0; r < 3; ++r) gen.exponential(e);
    EXPECT_EQ(f32_bits(s->gumbel(5)), f32_bits(-std::log(e[5])));
}

TEST(TorchCpuConformance, ProfileHasAName) {
    EXPECT_EQ(difr::noise_profile_name(NoiseProfile::torch_cpu), "torch-cpu");
    EXPECT_EQ(difr::noise_profile_from_name("torch-cpu"), NoiseProfile::torch_cpu);
    EXPECT_THROW(difr::noise_stream_make(NoiseProfile::torch_cpu, 1, 0), std::invalid_argument);
}

}  // namespace
