// The llama.cpp profile against llama.cpp itself: llama.cpp's own chain ending in its `dist` sampler picks a
// token per row; difr's replay (LlamaCppSampler's filter + LlamaCppRng + inverse_cdf_select) must pick the
// same token on every row, and the verifier must call every one of them a match with margin 0.
#include <gtest/gtest.h>
#include <llama.h>

#include <random>
#include <vector>

#include "difr/inverse_cdf.h"
#include "difr/llamacpp_sampler.h"

namespace difr {
namespace {

struct Case {
    SamplingParams params;
    int32_t n_vocab;
};

// llama-server's chain for `"samplers": ["top_k", "top_p", "min_p", "temperature"]`, ending in dist.
llama_sampler *reference_chain(const SamplingParams &p) {
    llama_sampler *chain = llama_sampler_chain_init(llama_sampler_chain_default_params());
    llama_sampler_chain_add(chain, llama_sampler_init_top_k(p.top_k));
    llama_sampler_chain_add(chain, llama_sampler_init_top_p(p.top_p, 0));
    llama_sampler_chain_add(chain, llama_sampler_init_min_p(p.min_p, 0));
    llama_sampler_chain_add(chain, llama_sampler_init_temp_ext(p.temperature, 0.0f, 1.0f));
    llama_sampler_chain_add(chain, llama_sampler_init_dist((uint32_t)p.seed));
    return chain;
}

// Logits like a language model's: a few strong tokens on a broad low floor, quantised to 1/64 so that ties
// (where sort stability would matter) are common.
std::vector<float> random_row(std::mt19937 &rng, int32_t n_vocab) {
    std::normal_distribution<float> floor(-2.0f, 2.0f);
    std::uniform_int_distribution<int32_t> pick(0, n_vocab - 1);
    std::vector<float> row(n_vocab);
    for (float &l : row) l = std::round(floor(rng) * 64.0f) / 64.0f;
    for (int i = 0; i < 12; ++i) row[pick(rng)] = 6.0f + (float)(i % 4);
    return row;
}

TEST(LlamaCppProfile, ReplayPicksLlamaCppsTokenOnEveryRow) {
    std::vector<Case> cases;
    auto add = [&](float T, int32_t k, float p, float min_p, uint64_t seed, int32_t V) {
        SamplingParams sp;
        sp.temperature = T;
        sp.top_k = k;
        sp.top_p = p;
        sp.min_p = min_p;
        sp.seed = seed;
        cases.push_back({sp, V});
    };
    add(1.0f, 50, 0.95f, 0.0f, 42, 49152);   // difr's default claim
    add(0.8f, 40, 0.95f, 0.05f, 7, 49152);   // llama-server's defaults
    add(1.3f, 0, 0.9f, 0.0f, 123456, 2000);  // top-k off, top-p's adaptive partial sort on a small vocabulary
    add(0.7f, 0, 1.0f, 0.0f, 99, 1500);      // only temperature: the whole vocabulary, unsorted
    add(1.0f, 3, 1.0f, 0.0f, 5, 49152);      // few candidates

    std::mt19937 rng(2024);
    std::vector<int32_t> ids;
    std::vector<float> x;
    std::vector<llama_token_data> cells;
    int64_t rows = 0, distinct = 0;
    for (const Case &c : cases) {
        llama_sampler *chain = reference_chain(c.params);
        LlamaCppSampler replay(c.params);
        LlamaCppRng draws((uint32_t)c.params.seed);
        for (int r = 0; r < 150; ++r) {
            const std::vector<float> row = random_row(rng, c.n_vocab);
            cells.resize(row.size());
            for (size_t i = 0; i < row.size(); ++i) cells[i] = {(llama_token)i, row[i], 0.0f};
            llama_token_data_array arr{cells.data(), cells.size(), -1, false};
            llama_sampler_apply(chain, &arr);
            ASSERT_GE(arr.selected, 0);
            const int32_t expected = arr.data[arr.selected].id;

            replay.filter(row, ids, x);
            const double rnd = draws.next();
            ASSERT_EQ(ids[inverse_cdf_select(x, rnd)], expected)
                << sampling_describe(c.params) << " V=" << c.n_vocab << " row " << r;
            const TokenMetrics m = token_metrics_inverse_cdf(row, expected, ids, x, rnd);
            ASSERT_TRUE(m.exact_match);
            ASSERT_EQ(m.margin, 0.0f);
            distinct += expected != ids[0];
            ++rows;
        }
        llama_sampler_free(chain);
    }
    EXPECT_EQ(rows, 750);
    EXPECT_GT(distinct, 100);  // the draws do move the choice off the most likely candidate
}

}  // namespace
}  // namespace difr
