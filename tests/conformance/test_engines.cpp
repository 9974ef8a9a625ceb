// The murmur3 profiles and the fp64 paths against the originals' own code (tools/conformance/vllm_gumbel.py
// and sglang_sampler.py load it from the published wheels): vllm and vllm-fp64 against vLLM 0.31.0-0.33.0's
// gumbel.py in Triton's interpreter, vllm-0.30-fp64 against 0.30.0's tl_rand64 path, sglang against SGLang
// 0.5.23's murmur_hash32_kernel and multinomial_with_seed on CPU torch.
#include <gtest/gtest.h>

#include "conformance_data.h"
#include "difr/metrics.h"
#include "difr/noise.h"

namespace {

using namespace conformance;
using difr::NoiseProfile;

// G bounds (see test_vllm.cpp): fp32 |dG| <= 4 * 2^-23 * max(1, |G|); fp64 the same in 2^-52 units (numpy's
// and glibc's double log are both within an ulp of the correctly rounded log).
double dev(double got, double want) {
    return std::fabs(got - want) / std::max(1.0, std::fabs(want));
}

TEST(EnginesConformance, Murmur3HashesAreBitExact) {
    Tally t;
    for (const char *file : {"vllm_murmur3_noise.json", "sglang_noise.json"}) {
        const json g = golden_load(file);
        for (const auto &c : g.at("cases")) {
            const uint64_t seed = c.at("seed");
            const int64_t pos = c.at("pos");
            const auto &cols = c.at("tokens");
            for (size_t i = 0; i < cols.size(); ++i) {
                const uint32_t col = uint32_t(cols[i].get<uint64_t>());
                const uint32_t h = difr::murmur3_noise_hash(seed, pos, col);
                ++t.compared;
                t.bit_exact += h == c.at("hash")[i].get<uint32_t>();
                ASSERT_EQ(h, c.at("hash")[i].get<uint32_t>()) << file << " seed " << seed << " pos " << pos;
                if (c.contains("hash_hi")) {
                    const uint32_t hi = difr::murmur3_noise_hash(seed, pos, col, difr::kMurmur3Fp64Domain);
                    ++t.compared;
                    t.bit_exact += hi == c.at("hash_hi")[i].get<uint32_t>();
                    ASSERT_EQ(hi, c.at("hash_hi")[i].get<uint32_t>()) << "seed " << seed << " pos " << pos;
                }
            }
        }
    }
    // The edge hashes, 0 and 2^32 - 1, are among the vLLM cases; SGLang's golden lists them on their own.
    // Held in a variable: a range-for over a member of a temporary reads freed memory (the temporary dies
    // before the loop runs; found by the sanitizer job).
    const json sglang = golden_load("sglang_noise.json");
    for (const auto &e : sglang.at("edges")) {
        ++t.compared;
        const uint32_t h =
            difr::murmur3_noise_hash(e.at("seed"), e.at("pos"), e.at("column").get<uint32_t>());
        t.bit_exact += h == e.at("hash").get<uint32_t>();
        EXPECT_EQ(h, e.at("hash").get<uint32_t>());
    }
    t.record();
}

TEST(EnginesConformance, VllmMurmur3UniformsAreBitExact) {
    const json g = golden_load("vllm_murmur3_noise.json");
    Tally t;
    for (const auto &c : g.at("cases")) {
        for (size_t i = 0; i < c.at("tokens").size(); ++i) {
            const uint32_t h = c.at("hash")[i], hi = c.at("hash_hi")[i];
            const float u = difr::vllm_murmur3_uniform(h);
            t.add_ulp(u, f32_from_bits(c.at("u_bits")[i]));
            ASSERT_EQ(f32_bits(u), c.at("u_bits")[i].get<uint32_t>()) << "hash " << h;
            const double u64 = difr::vllm_murmur3_uniform64(h, hi);
            t.add_ulp64(u64, f64_from_hex(c.at("u64_bits")[i]));
            ASSERT_EQ(u64, f64_from_hex(c.at("u64_bits")[i])) << "hashes " << h << " " << hi;
        }
    }
    t.record();
}

// difr's Horner steps are fused multiply-adds (Triton on a GPU contracts them); the interpreter rounds
// product and sum apart, and its log is numpy's: G agrees to the libm bound, not bit for bit.
TEST(EnginesConformance, VllmMurmur3GumbelWithinLibmPrecision) {
    const json g = golden_load("vllm_murmur3_noise.json");
    Tally t;
    for (const auto &c : g.at("cases")) {
        for (size_t i = 0; i < c.at("tokens").size(); ++i) {
            const float got = difr::vllm_murmur3_gumbel(c.at("hash")[i]);
            const float want = f32_from_bits(c.at("g_bits")[i]);
            t.add_ulp(got, want);
            t.max_rel = std::max(t.max_rel, dev(got, want));
            EXPECT_LE(dev(got, want), 4 * 0x1p-23)
                << "hash " << c.at("hash")[i] << ": " << got << " vs " << want;
        }
    }
    t.record();
}

TEST(EnginesConformance, VllmFp64GumbelWithinLibmPrecision) {
    Tally t;
    const json murmur3 = golden_load("vllm_murmur3_noise.json");
    for (const auto &c : murmur3.at("cases")) {
        for (size_t i = 0; i < c.at("tokens").size(); ++i) {
            const double got = difr::noise_sample(NoiseProfile::vllm_fp64, c.at("seed"), c.at("pos"),
                                                  uint32_t(c.at("tokens")[i].get<uint64_t>()))
                                   .gumbel;
            const double want = f64_from_hex(c.at("g64_bits")[i]);
            t.add_ulp64(got, want);
            t.max_rel = std::max(t.max_rel, dev(got, want));
            EXPECT_LE(dev(got, want), 4 * 0x1p-52) << got << " vs " << want;
        }
    }
    t.record();
}

TEST(EnginesConformance, Vllm030Fp64UniformsBitExactGumbelWithinLibm) {
    Tally t;
    const json philox = golden_load("vllm_noise.json");
    for (const auto &c : philox.at("cases")) {
        const uint64_t key = difr::vllm_noise_key(c.at("seed"), c.at("pos"));
        for (size_t i = 0; i < c.at("tokens").size(); ++i) {
            const int32_t token = c.at("tokens")[i];
            const double u = difr::vllm_noise_uniform64(key, token);
            ASSERT_EQ(u, f64_from_hex(c.at("u64_bits")[i])) << "token " << token;
            const double got =
                difr::noise_sample(NoiseProfile::vllm_0_30_fp64, c.at("seed"), c.at("pos"), uint32_t(token))
                    .gumbel;
            const double want = f64_from_hex(c.at("g64_bits")[i]);
            t.add_ulp64(got, want);
            t.max_rel = std::max(t.max_rel, dev(got, want));
            EXPECT_LE(dev(got, want), 4 * 0x1p-52) << got << " vs " << want;
        }
    }
    t.record();
}

TEST(EnginesConformance, SglangGumbelWithinLibmPrecision) {
    const json g = golden_load("sglang_noise.json");
    Tally t;
    auto check = [&](uint32_t h, const std::string &hex) {
        const double got = difr::sglang_gumbel(h), want = f64_from_hex(hex);
        t.add_ulp64(got, want);
        t.max_rel = std::max(t.max_rel, dev(got, want));
        EXPECT_LE(dev(got, want), 4 * 0x1p-52) << "hash " << h << ": " << got << " vs " << want;
    };
    for (const auto &c : g.at("cases"))
        for (size_t i = 0; i < c.at("tokens").size(); ++i) check(c.at("hash")[i], c.at("g64_bits")[i]);
    for (const auto &e : g.at("edges"))
        if (!e.at("g64_bits").is_null()) check(e.at("hash"), e.at("g64_bits"));
    t.record();
}

difr::SamplingParams case_params(const json &c) {
    difr::SamplingParams p;
    p.temperature = c.at("temperature");
    p.top_k = c.value("top_k", 0);
    p.top_p = c.value("top_p", 1.0f);
    p.seed = c.at("seed");
    return p;
}

void check_sampled(const char *file, NoiseProfile profile, const char *field) {
    const json g = golden_load(file);
    difr::MetricsScratch scratch;
    Tally t;
    for (const auto &c : g.at("cases")) {
        const int32_t n_vocab = c.at("n_vocab");
        const std::vector<float> logits = synthetic_logits(n_vocab, c.at("logits"));
        const difr::SamplingParams params = case_params(c);
        auto noise = difr::noise_stream_make(profile, params.seed, n_vocab);
        noise->seek(c.at("pos"));
        const int32_t got = difr::sampling_sample(logits, params, noise.get(), scratch);
        ++t.compared;
        t.bit_exact += got == c.at(field).get<int32_t>();
        EXPECT_EQ(got, c.at(field).get<int32_t>())
            << difr::noise_profile_name(profile) << " V " << n_vocab << " " << difr::sampling_describe(params)
            << " pos " << c.at("pos");
    }
    t.record();
}

TEST(EnginesConformance, VllmSampledTokensMatchTheKernel) {
    check_sampled("vllm_murmur3_sample.json", NoiseProfile::vllm, "sampled");
}

TEST(EnginesConformance, VllmFp64SampledTokensMatchTheKernel) {
    check_sampled("vllm_murmur3_sample.json", NoiseProfile::vllm_fp64, "sampled_fp64");
}

TEST(EnginesConformance, SglangSampledTokensMatchTheSampler) {
    check_sampled("sglang_sample.json", NoiseProfile::sglang, "sampled");
}

}  // namespace
