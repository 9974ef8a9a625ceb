// GenerateOptions::bug, the faulty sampler of the detection lab (DiFR's BuggyLogitsProcessor): at rate 0 the
// output is the un-bugged output; at rate 1 every token lies among the top 20 logits and differs from the
// token the correct sampler would have chosen at that position. The correct choice and the logit rank come
// from the verifier, which replays the sampler on the claimed prefix.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "difr/generator.h"
#include "difr/model.h"
#include "difr/results.h"
#include "difr/verify.h"
#include "tiny_model.h"

namespace difr {
namespace {

class SamplingBugTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        std::string tmpl = std::filesystem::temp_directory_path().string() + "/difr-bug-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
        test::tiny_model_write(dir_ + "/tiny.gguf", test::TinyModelSpec{});
        model_ = Model::load(dir_ + "/tiny.gguf", settings()).release();
    }
    static void TearDownTestSuite() {
        delete model_;
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    static EngineSettings settings() {
        EngineSettings s;
        s.n_threads = 1;  // the model is tiny; one thread avoids ggml's spinning barriers on a loaded machine
        s.n_seq_max = 4;
        s.n_batch = 32;
        return s;
    }
    static std::vector<std::vector<int32_t>> prompts() {
        std::mt19937 rng(11);
        std::vector<std::vector<int32_t>> out;
        for (int32_t n : {2, 9, 23, 5, 14, 31}) {
            std::vector<int32_t> p{test::kTinyBos};
            for (int32_t k = 1; k < n; ++k)
                p.push_back(test::kTinyFirstByte + (int32_t)(rng() % (uint32_t)(model_->n_vocab() - 3)));
            out.push_back(p);
        }
        return out;
    }
    static GenerateOptions options(float temperature, double rate) {
        GenerateOptions o;
        o.sampling.temperature = temperature;
        o.sampling.top_k = temperature > 0 ? 50 : 0;
        o.sampling.top_p = temperature > 0 ? 0.95f : 1.0f;
        o.sampling.seed = 42;
        o.max_tokens = 32;
        o.stop_at_eog = false;  // a bugged token may be the end token; keep every sequence the same length
        o.bug.rate = rate;
        o.bug.seed = 7;
        return o;
    }
    // Verifies `seqs` with the correct sampler and returns the per-token lines of tokens.jsonl.
    static std::vector<nlohmann::json> verify_lines(const std::vector<TokenSequence> &seqs,
                                                    const GenerateOptions &o) {
        const std::string path = dir_ + "/tokens.jsonl";
        {
            TokenMetricsWriter w(path);
            VerifyOptions v;
            v.sampling = o.sampling;
            v.noise = o.noise;
            verify_sequences(*model_, settings(), seqs, v, &w);
        }
        std::ifstream in(path);
        std::vector<nlohmann::json> lines;
        for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
        return lines;
    }

    static inline std::string dir_;
    static inline Model *model_ = nullptr;
};

TEST_F(SamplingBugTest, RateZeroIsTheUnbuggedOutput) {
    for (float t : {0.0f, 1.0f}) {
        GenerateOptions plain = options(t, 0.0);
        plain.bug = SamplingBug{};
        const auto a = generate(*model_, settings(), prompts(), plain);
        const auto b = generate(*model_, settings(), prompts(), options(t, 0.0));
        ASSERT_EQ(a.size(), b.size());
        for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].output_token_ids, b[i].output_token_ids) << i;
        // ...and it is what the correct sampler emits: every token verifies exactly.
        for (const auto &l : verify_lines(b, options(t, 0.0)))
            EXPECT_TRUE(l["exact_match"].get<bool>()) << l.dump();
    }
}

TEST_F(SamplingBugTest, RateOneReplacesEveryTokenByAnotherOfTheTop20) {
    for (float t : {0.0f, 1.0f}) {
        const GenerateOptions o = options(t, 1.0);
        const auto seqs = generate(*model_, settings(), prompts(), o);
        const auto lines = verify_lines(seqs, o);
        ASSERT_EQ(lines.size(), seqs.size() * (size_t)o.max_tokens);
        for (const auto &l : lines) {
            // logit_rank = #{i : l_i > l_y}: below 20 means y is among the 20 largest logits.
            EXPECT_LT(l["logit_rank"].get<double>(), 20.0) << l.dump();
            EXPECT_NE(l["token"], l["predicted"]) << "T=" << t << ": " << l.dump();
            EXPECT_FALSE(l["exact_match"].get<bool>());
        }
    }
}

TEST_F(SamplingBugTest, BugsAreSeededIndependentlyOfTheBatch) {
    const GenerateOptions o = options(1.0f, 0.2);
    EngineSettings alone = settings();
    alone.n_seq_max = 1;
    const auto a = generate(*model_, settings(), prompts(), o);
    const auto b = generate(*model_, alone, prompts(), o);
    for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].output_token_ids, b[i].output_token_ids) << i;
    // 6 x 32 = 192 tokens at rate 0.2: the mismatches are Binomial(192, 0.2), mean 38.4, sd 5.5; a bug
    // always changes the token, and the verifier matches every other token exactly (batch-invariant engine),
    // so the count must lie within 5 sd of the mean.
    int64_t mismatches = 0;
    for (const auto &l : verify_lines(a, o)) mismatches += !l["exact_match"].get<bool>();
    std::printf("[ measured ] rate 0.2: %lld of 192 tokens bugged\n", (long long)mismatches);
    EXPECT_GE(mismatches, 11);
    EXPECT_LE(mismatches, 66);
}

}  // namespace
}  // namespace difr
