// token_metrics_compute and sampling_sample on tiny vocabularies, with a fake noise stream that returns a
// fixed Gumbel value per token id so that every metric of design.md section 2 can be worked out by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "difr/metrics.h"
#include "difr/noise.h"

namespace {

using difr::MetricsScratch;
using difr::SamplingParams;
using difr::TokenMetrics;

constexpr float kInf = std::numeric_limits<float>::infinity();
// logprob = l_y - (max l + log sum exp(l - max l)) in float: the log-sum-exp (3.4 to 4.5 here) carries up to
// half an ulp of absolute error, 2^-22 = 2.4e-7, which the difference keeps. Allow two such ulps.
constexpr float kLogprobTol = 5e-7f;

// G_i = g[i] whatever the position; records which ids were asked for.
class FixedNoise final : public difr::NoiseStream {
public:
    explicit FixedNoise(std::vector<float> g) : g_(std::move(g)) {}
    void seek(int64_t) override {}
    float gumbel(int32_t token) const override {
        asked.push_back(token);
        return g_[token];
    }
    mutable std::vector<int32_t> asked;

private:
    std::vector<float> g_;
};

SamplingParams params_make(float temperature, int32_t top_k = 0, float top_p = 1.0f) {
    SamplingParams p;
    p.temperature = temperature;
    p.top_k = top_k;
    p.top_p = top_p;
    return p;
}

TokenMetrics compute(const std::vector<float> &l, int32_t y, const SamplingParams &p,
                     const difr::NoiseStream *noise) {
    MetricsScratch scratch;
    return difr::token_metrics_compute(l, y, p, noise, scratch);
}

int32_t sample(const std::vector<float> &l, const SamplingParams &p, const difr::NoiseStream *noise) {
    MetricsScratch scratch;
    return difr::sampling_sample(l, p, noise, scratch);
}

// --- T = 1, no filter -------------------------------------------------------------------------------------
// l = {1, 3, 2, 0}, G = {0.5, -1, 1.5, 0.25}: x + G = {1.5, 2.0, 3.5, 0.25}, so the reference picks id 2.
// sum exp(l) = e + e^3 + e^2 + 1 = 2.71828 + 20.08554 + 7.38906 + 1 = 31.19287, log = 3.44019.
const std::vector<float> kLogitsA = {1, 3, 2, 0};
const std::vector<float> kNoiseA = {0.5f, -1.0f, 1.5f, 0.25f};

TEST(TokenMetrics, ClaimedTokenThatIsNotTheNoisedArgmax) {
    const FixedNoise noise(kNoiseA);
    const TokenMetrics m = compute(kLogitsA, 1, params_make(1.0f), &noise);
    EXPECT_EQ(m.predicted, 2);
    EXPECT_FALSE(m.exact_match);
    EXPECT_FLOAT_EQ(m.prob, 0.64391426f);               // e^3 / 31.19287
    EXPECT_FLOAT_EQ(m.margin, 1.5f);                    // max(l + G) - (l_1 + G_1) = 3.5 - 2.0
    EXPECT_EQ(m.logit_rank, 0.0f);                      // nothing above l_1 = 3
    EXPECT_EQ(m.gumbel_rank, 1.0f);                     // only id 2 (3.5) scores above 2.0
    EXPECT_NEAR(m.logprob, -0.44018970f, kLogprobTol);  // 3 - 3.44019
}

TEST(TokenMetrics, ClaimedTokenThatIsTheNoisedArgmax) {
    const FixedNoise noise(kNoiseA);
    const TokenMetrics m = compute(kLogitsA, 2, params_make(1.0f), &noise);
    EXPECT_EQ(m.predicted, 2);
    EXPECT_TRUE(m.exact_match);
    EXPECT_FLOAT_EQ(m.prob, 0.23688282f);  // e^2 / 31.19287
    EXPECT_EQ(m.margin, 0.0f);             // the claimed token is the max
    EXPECT_EQ(m.logit_rank, 1.0f);         // l_1 = 3 > 2
    EXPECT_EQ(m.gumbel_rank, 0.0f);
    EXPECT_NEAR(m.logprob, -1.4401897f, kLogprobTol);  // 2 - 3.44019
}

TEST(TokenMetrics, LowestLogitClaimedToken) {
    const FixedNoise noise(kNoiseA);
    const TokenMetrics m = compute(kLogitsA, 3, params_make(1.0f), &noise);
    EXPECT_FALSE(m.exact_match);
    EXPECT_FLOAT_EQ(m.prob, 0.03205860f);              // 1 / 31.19287
    EXPECT_FLOAT_EQ(m.margin, 3.25f);                  // 3.5 - (0 + 0.25)
    EXPECT_EQ(m.logit_rank, 3.0f);                     // 1, 3, 2 > 0
    EXPECT_EQ(m.gumbel_rank, 3.0f);                    // 1.5, 2.0, 3.5 > 0.25
    EXPECT_NEAR(m.logprob, -3.4401897f, kLogprobTol);  // 0 - 3.44019
}

// --- T = 2: margin is in logit units, prob uses x = l / T, logprob stays at T = 1 --------------------------
//
// l = {2, 4, 3, 0}, x = {1, 2, 1.5, 0}, G = {0.5, -0.25, 0.25, 1}: x + G = {1.5, 1.75, 1.75, 1.0}.
// l + T*G = {3, 3.5, 3.5, 2}. sum exp(x) = e + e^2 + e^1.5 + 1 = 15.58903.
// sum exp(l) = e^2 + e^4 + e^3 + 1 = 83.07274, log = 4.41972.
const std::vector<float> kLogitsB = {2, 4, 3, 0};
const std::vector<float> kNoiseB = {0.5f, -0.25f, 0.25f, 1.0f};

TEST(TokenMetrics, TiedNoisedScoresPickTheLowestId) {
    // ids 1 and 2 both score 1.75: the reference picks id 1.
    const FixedNoise noise(kNoiseB);
    const TokenMetrics m = compute(kLogitsB, 2, params_make(2.0f), &noise);
    EXPECT_EQ(m.predicted, 1);
    EXPECT_FALSE(m.exact_match);
    EXPECT_EQ(m.margin, 0.0f);       // 3.5 - (3 + 2 * 0.25): a tie is margin 0 even though it is not a match
    EXPECT_EQ(m.gumbel_rank, 0.0f);  // strictly greater only: the tie with id 1 does not count
    EXPECT_EQ(m.logit_rank, 1.0f);   // l_1 = 4 > 3
    EXPECT_FLOAT_EQ(m.prob, 0.28748998f);              // e^1.5 / 15.58903
    EXPECT_NEAR(m.logprob, -1.4197166f, kLogprobTol);  // 3 - 4.41972 (T = 1, not T = 2)
    EXPECT_EQ(sample(kLogitsB, params_make(2.0f), &noise), 1);
}

TEST(TokenMetrics, MarginIsInLogitUnitsNotDividedByTemperature) {
    const FixedNoise noise(kNoiseB);
    const TokenMetrics m = compute(kLogitsB, 0, params_make(2.0f), &noise);
    EXPECT_EQ(m.predicted, 1);
    EXPECT_FLOAT_EQ(m.margin, 0.5f);  // max(l + 2G) - (l_0 + 2 G_0) = 3.5 - 3; in x units it would be 0.25
    EXPECT_EQ(m.gumbel_rank, 2.0f);   // ids 1 and 2 (1.75) above 1.5
    EXPECT_EQ(m.logit_rank, 2.0f);    // l = 4 and 3 above 2
    EXPECT_FLOAT_EQ(m.prob, 0.17437149f);              // e^1 / 15.58903
    EXPECT_NEAR(m.logprob, -2.4197166f, kLogprobTol);  // 2 - 4.41972
}

// --- filtered claimed tokens ------------------------------------------------------------------------------

TEST(TokenMetrics, ClaimedTokenRemovedByTopK) {
    // l = {0, 4, 1, 3, 2}, top_k = 2 keeps ids {1, 3}. Claimed id 4 (l = 2, third largest) is masked.
    // G_0 = 5 and G_4 = 9 would win without the filter; among survivors x + G = {4 + 0, 3 + 0.5} -> id 1.
    // sum exp(l) = 1 + e^4 + e + e^3 + e^2 = 85.79102, log = 4.45191.
    const std::vector<float> l = {0, 4, 1, 3, 2};
    const FixedNoise noise({5.0f, 0.0f, 0.0f, 0.5f, 9.0f});
    const TokenMetrics m = compute(l, 4, params_make(1.0f, 2), &noise);
    EXPECT_EQ(m.predicted, 1);
    EXPECT_FALSE(m.exact_match);
    EXPECT_EQ(m.prob, 0.0f);
    EXPECT_EQ(m.margin, kInf);
    EXPECT_EQ(m.gumbel_rank, kInf);
    EXPECT_EQ(m.logit_rank, 2.0f);                     // unfiltered: 4 and 3 above 2
    EXPECT_NEAR(m.logprob, -2.4519144f, kLogprobTol);  // 2 - 4.45191, unfiltered
    EXPECT_EQ(sample(l, params_make(1.0f, 2), &noise), 1);
}

TEST(TokenMetrics, ClaimedTokenKeptByTopKIsScoredAmongSurvivorsOnly) {
    // Same row, claimed id 3: prob renormalises over {1, 3}: e^3 / (e^4 + e^3) = 1 / (1 + e) = 0.26894142.
    // margin = (4 + 0) - (3 + 0.5) = 0.5; gumbel_rank counts survivors only: id 1 (4 > 3.5) -> 1, although
    // the masked ids 0 and 4 have noised scores 5 and 11.
    const std::vector<float> l = {0, 4, 1, 3, 2};
    const FixedNoise noise({5.0f, 0.0f, 0.0f, 0.5f, 9.0f});
    const TokenMetrics m = compute(l, 3, params_make(1.0f, 2), &noise);
    EXPECT_FLOAT_EQ(m.prob, 0.26894142f);
    EXPECT_FLOAT_EQ(m.margin, 0.5f);
    EXPECT_EQ(m.gumbel_rank, 1.0f);
    EXPECT_EQ(m.logit_rank, 1.0f);
}

TEST(TokenMetrics, ClaimedTokenRemovedByTopP) {
    // l = log{1, 2, 3, 4}: probs {0.1, 0.2, 0.3, 0.4}; p = 0.5 keeps {2, 3} (see test_sampling.cpp).
    // Claimed id 1 is masked; logprob = log(0.2) all the same.
    const std::vector<float> l = {std::log(1.0f), std::log(2.0f), std::log(3.0f), std::log(4.0f)};
    const FixedNoise noise({10.0f, 10.0f, 0.0f, 0.0f});
    const TokenMetrics m = compute(l, 1, params_make(1.0f, 0, 0.5f), &noise);
    EXPECT_EQ(m.predicted, 3);  // x + G over {2, 3} = {log 3, log 4}
    EXPECT_EQ(m.prob, 0.0f);
    EXPECT_EQ(m.margin, kInf);
    EXPECT_EQ(m.gumbel_rank, kInf);
    EXPECT_EQ(m.logit_rank, 2.0f);
    EXPECT_NEAR(m.logprob, std::log(0.2f), kLogprobTol);
}

TEST(TokenMetrics, ProbRenormalisesOverTopPSurvivors) {
    // Same row, claimed id 3 kept: prob = 0.4 / (0.3 + 0.4) = 4/7 = 0.5714286.
    // margin = (l_3 + 0) - (l_3 + 0) = 0 since G is 0 on both survivors and l_3 > l_2.
    const std::vector<float> l = {std::log(1.0f), std::log(2.0f), std::log(3.0f), std::log(4.0f)};
    const FixedNoise noise({10.0f, 10.0f, 0.0f, 0.0f});
    const TokenMetrics m = compute(l, 3, params_make(1.0f, 0, 0.5f), &noise);
    EXPECT_TRUE(m.exact_match);
    EXPECT_FLOAT_EQ(m.prob, 4.0f / 7.0f);
    EXPECT_EQ(m.margin, 0.0f);
    EXPECT_EQ(m.gumbel_rank, 0.0f);
}

TEST(TokenMetrics, ClaimedTokenWithMinusInfLogit) {
    // A top-k reference returns -inf for tokens outside its list (design.md section 2). Such a claimed token
    // can never be sampled: prob 0 and margin +inf, at T > 0 and at T = 0 alike; log_softmax gives -inf.
    const std::vector<float> l = {-kInf, 1, 2, -kInf};
    const FixedNoise noise({3.0f, 0.0f, 0.0f, 3.0f});
    for (const float T : {1.0f, 0.0f}) {
        const TokenMetrics m = compute(l, 0, params_make(T), &noise);
        EXPECT_EQ(m.predicted, 2) << "T = " << T;  // x + G = {-inf, 1, 2, -inf}
        EXPECT_FALSE(m.exact_match);
        EXPECT_EQ(m.prob, 0.0f);
        EXPECT_EQ(m.margin, kInf);
        EXPECT_EQ(m.logit_rank, 2.0f);  // 1 and 2 are above -inf; the other -inf is not
        EXPECT_EQ(m.logprob, -kInf);
        // Masked like a filtered token at T > 0; at T = 0 the rank is the logit rank (no noise).
        EXPECT_EQ(m.gumbel_rank, T > 0 ? kInf : 2.0f) << "T = " << T;
    }
}

TEST(TokenMetrics, NoiseIsAskedOnlyForSurvivors) {
    // Counter-based noise lets a verifier draw G for the candidates only: top_k = 2 of V = 5 asks for {1, 3}.
    const std::vector<float> l = {0, 4, 1, 3, 2};
    const FixedNoise noise({5.0f, 0.0f, 0.0f, 0.5f, 9.0f});
    compute(l, 3, params_make(1.0f, 2), &noise);
    EXPECT_EQ(noise.asked, (std::vector<int32_t>{1, 3}));
}

// --- T = 0 ------------------------------------------------------------------------------------------------
//
// l = {1, 3, 3, 2}: argmax with ties to the lowest id is 1.

TEST(TokenMetricsGreedy, ArgmaxClaimed) {
    const std::vector<float> l = {1, 3, 3, 2};
    const TokenMetrics m = compute(l, 1, params_make(0.0f), nullptr);
    EXPECT_EQ(m.predicted, 1);
    EXPECT_TRUE(m.exact_match);
    EXPECT_EQ(m.prob, 1.0f);
    EXPECT_EQ(m.margin, 0.0f);
    EXPECT_EQ(m.logit_rank, 0.0f);
    EXPECT_EQ(m.gumbel_rank, 0.0f);
    // sum exp(l) = e + 2 e^3 + e^2 = 2.71828 + 40.17107 + 7.38906 = 50.27841, log = 3.91758.
    EXPECT_NEAR(m.logprob, -0.91757580f, kLogprobTol);  // 3 - 3.91758
}

TEST(TokenMetricsGreedy, TiedWithTheMaxButHigherIdIsNotAMatch) {
    const std::vector<float> l = {1, 3, 3, 2};
    const TokenMetrics m = compute(l, 2, params_make(0.0f), nullptr);
    EXPECT_EQ(m.predicted, 1);
    EXPECT_FALSE(m.exact_match);
    EXPECT_EQ(m.prob, 0.0f);    // [y == argmax]
    EXPECT_EQ(m.margin, 0.0f);  // max(l) - l_y = 3 - 3
    EXPECT_EQ(m.logit_rank, 0.0f);
    EXPECT_EQ(m.gumbel_rank, 0.0f);  // = logit_rank
    EXPECT_NEAR(m.logprob, -0.91757580f, kLogprobTol);
}

TEST(TokenMetricsGreedy, BelowTheMax) {
    const std::vector<float> l = {1, 3, 3, 2};
    const TokenMetrics m = compute(l, 3, params_make(0.0f), nullptr);
    EXPECT_FALSE(m.exact_match);
    EXPECT_EQ(m.prob, 0.0f);
    EXPECT_EQ(m.margin, 1.0f);                         // 3 - 2
    EXPECT_EQ(m.logit_rank, 2.0f);                     // ids 1 and 2
    EXPECT_EQ(m.gumbel_rank, 2.0f);                    // = logit_rank
    EXPECT_NEAR(m.logprob, -1.9175758f, kLogprobTol);  // 2 - 3.91758
}

TEST(TokenMetricsGreedy, NoiseIsIgnored) {
    // A noise stream that would make id 0 win at T > 0 changes nothing at T = 0, and is never asked.
    const std::vector<float> l = {1, 3, 3, 2};
    const FixedNoise noise({100.0f, 0.0f, 0.0f, 0.0f});
    const TokenMetrics m = compute(l, 3, params_make(0.0f), &noise);
    EXPECT_EQ(m.predicted, 1);
    EXPECT_EQ(m.margin, 1.0f);
    EXPECT_TRUE(noise.asked.empty());
    EXPECT_EQ(sample(l, params_make(0.0f), &noise), 1);
    EXPECT_TRUE(noise.asked.empty());
}

TEST(TokenMetricsGreedy, TopKAndTopPAreIgnored) {
    // At T = 0 the margin is max(l) - l_y, finite even for a token that top_k = 1 would have removed.
    const std::vector<float> l = {1, 3, 3, 2};
    const TokenMetrics m = compute(l, 0, params_make(0.0f, 1, 0.1f), nullptr);
    EXPECT_EQ(m.predicted, 1);
    EXPECT_EQ(m.margin, 2.0f);  // 3 - 1
    EXPECT_EQ(m.logit_rank, 3.0f);
    EXPECT_EQ(m.gumbel_rank, 3.0f);
    EXPECT_EQ(m.prob, 0.0f);
}

// --- sampling_sample and token_metrics_compute agree ------------------------------------------------------

TEST(SamplingSample, MatchesPredictedOnHandCases) {
    const FixedNoise a(kNoiseA), b(kNoiseB);
    EXPECT_EQ(sample(kLogitsA, params_make(1.0f), &a), 2);
    EXPECT_EQ(sample(kLogitsB, params_make(2.0f), &b), 1);
    EXPECT_EQ(sample({1, 3, 3, 2}, params_make(0.0f), nullptr), 1);
    for (int32_t y = 0; y < 4; ++y) {
        EXPECT_EQ(compute(kLogitsA, y, params_make(1.0f), &a).predicted, 2);
        EXPECT_EQ(compute(kLogitsB, y, params_make(2.0f), &b).predicted, 1);
    }
}

TEST(SamplingSample, MatchesPredictedWithTheVllmStream) {
    // Pseudo-random rows (a fixed LCG, V = 8), several sampling settings: the token a generator emits is the
    // verifier's prediction, and scoring that token gives an exact match with rank 0.
    const int32_t V = 8;
    uint32_t state = 12345;
    auto next = [&] {
        state = state * 1664525u + 1013904223u;
        return float(state >> 8) / float(1 << 24) * 8.0f - 4.0f;  // in [-4, 4)
    };
    const SamplingParams settings[] = {params_make(1.0f), params_make(0.7f, 3), params_make(1.3f, 0, 0.8f),
                                       params_make(0.5f, 5, 0.9f), params_make(0.0f)};
    MetricsScratch scratch;
    for (const SamplingParams &p : settings) {
        auto stream = difr::noise_stream_make(difr::NoiseProfile::vllm, 42, V);
        for (int64_t pos = 10; pos < 110; ++pos) {
            std::vector<float> l(V);
            for (float &v : l) v = next();
            stream->seek(pos);
            const int32_t y = difr::sampling_sample(l, p, stream.get(), scratch);
            const TokenMetrics m = difr::token_metrics_compute(l, y, p, stream.get(), scratch);
            ASSERT_EQ(m.predicted, y) << difr::sampling_describe(p) << " pos " << pos;
            EXPECT_TRUE(m.exact_match);
            EXPECT_EQ(m.gumbel_rank, 0.0f);
            EXPECT_GE(m.margin, 0.0f);
            EXPECT_LT(m.margin, 1e-5f) << difr::sampling_describe(p) << " pos " << pos;
            EXPECT_GT(m.prob, 0.0f);
        }
    }
}

}  // namespace
