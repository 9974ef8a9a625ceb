// sampling_filter: vLLM's temperature -> top-k -> top-p, on tiny rows whose survivors can be worked out by
// hand.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "difr/sampling.h"

namespace {

using difr::SamplingCandidates;
using difr::SamplingParams;
using difr::SamplingScratch;

SamplingParams params_make(float temperature, int32_t top_k, float top_p) {
    SamplingParams p;
    p.temperature = temperature;
    p.top_k = top_k;
    p.top_p = top_p;
    return p;
}

SamplingCandidates filter(const std::vector<float> &logits, const SamplingParams &params) {
    SamplingCandidates c;
    SamplingScratch s;
    difr::sampling_filter(logits, params, c, s);
    return c;
}

// Logits log(1), log(2), log(3), log(4): at T = 1 softmax is exactly the weights over their sum,
// probs = {0.1, 0.2, 0.3, 0.4}.
std::vector<float> logits_1234() {
    return {std::log(1.0f), std::log(2.0f), std::log(3.0f), std::log(4.0f)};
}

TEST(SamplingFilter, TopKKeepsEveryTokenTiedWithTheKthLargest) {
    // Sorted descending: 3 (id 1), 3 (id 3), 2 (id 2), 2 (id 4), 1, 0. The 3rd largest is 2, and vLLM masks
    // only `logits < kth`, so both 2s survive: 4 tokens for k = 3.
    const std::vector<float> l = {1, 3, 2, 3, 2, 0};
    const SamplingCandidates c = filter(l, params_make(1.0f, 3, 1.0f));
    EXPECT_FALSE(c.all);
    EXPECT_EQ(c.ids, (std::vector<int32_t>{1, 2, 3, 4}));
    EXPECT_EQ(c.x, (std::vector<float>{3, 2, 3, 2}));
}

TEST(SamplingFilter, TopKOneKeepsAllTokensTiedForTheMax) {
    // The largest value 3 appears twice (ids 1 and 3): k = 1 keeps both.
    const std::vector<float> l = {1, 3, 2, 3, 2, 0};
    EXPECT_EQ(filter(l, params_make(1.0f, 1, 1.0f)).ids, (std::vector<int32_t>{1, 3}));
}

TEST(SamplingFilter, TopKWithoutTiesKeepsExactlyK) {
    // Descending 5 (id 2), 4 (id 0), 3 (id 4), 2, 1: k = 3 keeps ids {0, 2, 4}, returned in ascending id
    // order.
    const std::vector<float> l = {4, 1, 5, 2, 3};
    const SamplingCandidates c = filter(l, params_make(1.0f, 3, 1.0f));
    EXPECT_EQ(c.ids, (std::vector<int32_t>{0, 2, 4}));
    EXPECT_EQ(c.x, (std::vector<float>{4, 5, 3}));
}

TEST(SamplingFilter, XIsLogitsOverTemperature) {
    // T = 2: x = l / 2 = {2, 0.5, 2.5, 1, 1.5}; top-3 of x keeps ids {0, 2, 4}.
    const std::vector<float> l = {4, 1, 5, 2, 3};
    const SamplingCandidates c = filter(l, params_make(2.0f, 3, 1.0f));
    EXPECT_EQ(c.ids, (std::vector<int32_t>{0, 2, 4}));
    EXPECT_EQ(c.x, (std::vector<float>{2.0f, 2.5f, 1.5f}));
}

TEST(SamplingFilter, TopKAtLeastVocabularyIsOff) {
    const std::vector<float> l = {4, 1, 5, 2, 3};  // V = 5
    for (int32_t k : {5, 6, 1000}) {
        const SamplingCandidates c = filter(l, params_make(1.0f, k, 1.0f));
        EXPECT_TRUE(c.all) << "k = " << k;
        EXPECT_TRUE(c.ids.empty());
        EXPECT_TRUE(c.x.empty());
    }
}

TEST(SamplingFilter, TopKZeroOrNegativeIsOff) {
    const std::vector<float> l = {4, 1, 5, 2, 3};
    for (int32_t k : {0, -1}) EXPECT_TRUE(filter(l, params_make(1.0f, k, 1.0f)).all) << "k = " << k;
}

TEST(SamplingFilter, TopPOneIsOff) {
    EXPECT_TRUE(filter(logits_1234(), params_make(1.0f, 0, 1.0f)).all);
}

TEST(SamplingFilter, TopKOffButTopPOnIsNotAll) {
    // top_p = 0.99 on probs {0.1, 0.2, 0.3, 0.4}: ascending cumsum {0.1, 0.3, 0.6, 1.0}, none <= 0.01, so
    // every token survives, but the filter did run and lists them.
    const SamplingCandidates c = filter(logits_1234(), params_make(1.0f, 0, 0.99f));
    EXPECT_FALSE(c.all);
    EXPECT_EQ(c.ids, (std::vector<int32_t>{0, 1, 2, 3}));
}

TEST(SamplingFilter, TopPKeepsTheSmallestDescendingPrefixReachingP) {
    // probs {0.1, 0.2, 0.3, 0.4}; ascending cumsum {0.1, 0.3, 0.6, 1.0}; vLLM masks cumsum <= 1 - p.
    // p = 0.5: 1 - p = 0.5 masks 0.1 and 0.3 -> keep {2, 3} (descending: 0.4 < 0.5, 0.4 + 0.3 = 0.7 >= 0.5).
    EXPECT_EQ(filter(logits_1234(), params_make(1.0f, 0, 0.5f)).ids, (std::vector<int32_t>{2, 3}));
    // p = 0.75: 1 - p = 0.25 masks only 0.1 -> keep {1, 2, 3} (0.4 + 0.3 = 0.7 < 0.75, + 0.2 = 0.9).
    EXPECT_EQ(filter(logits_1234(), params_make(1.0f, 0, 0.75f)).ids, (std::vector<int32_t>{1, 2, 3}));
    // p = 0.35: 1 - p = 0.65 masks 0.1, 0.3 and 0.6 -> keep {3} (0.4 >= 0.35 alone).
    EXPECT_EQ(filter(logits_1234(), params_make(1.0f, 0, 0.35f)).ids, (std::vector<int32_t>{3}));
}

TEST(SamplingFilter, TopPKeepsXOfTheSurvivors) {
    const std::vector<float> l = logits_1234();
    const SamplingCandidates c = filter(l, params_make(1.0f, 0, 0.5f));
    EXPECT_EQ(c.x, (std::vector<float>{l[2], l[3]}));
}

TEST(SamplingFilter, TopPAlwaysKeepsTheLargest) {
    // p = 0.01 is below the largest probability 0.4: the mask would take everything but vLLM unmasks the last
    // (largest) entry.
    EXPECT_EQ(filter(logits_1234(), params_make(1.0f, 0, 0.01f)).ids, (std::vector<int32_t>{3}));
}

TEST(SamplingFilter, TopPWithAllMassOnOneToken) {
    // exp(-100) ~ 3.7e-44 (a float denormal): the ascending cumsum is ~0, ~0, ~0, 1, so with 1 - p = 0.01 the
    // three small ones are masked and only id 1 survives.
    const std::vector<float> l = {0, 100, 0, 0};
    EXPECT_EQ(filter(l, params_make(1.0f, 0, 0.99f)).ids, (std::vector<int32_t>{1}));
    // Tokens that a top-k reference did not return are -inf (probability exactly 0): also masked.
    const float ninf = -std::numeric_limits<float>::infinity();
    const std::vector<float> l2 = {ninf, 0, ninf, ninf};
    EXPECT_EQ(filter(l2, params_make(1.0f, 0, 0.99f)).ids, (std::vector<int32_t>{1}));
}

TEST(SamplingFilter, TemperatureChangesWhichTokensTopPKeeps) {
    // x = log(w) / T, so softmax(x) is proportional to w^(1/T) for w = {1, 2, 3, 4}:
    //   T = 0.5: {1, 4, 9, 16} / 30, ascending cumsum {0.0333, 0.1667, 0.4667, 1}
    //   T = 1:   {1, 2, 3, 4} / 10,  ascending cumsum {0.1, 0.3, 0.6, 1}
    //   T = 2:   {1, 1.4142, 1.7321, 2} / 6.1463 = {0.1627, 0.2301, 0.2818, 0.3254},
    //            ascending cumsum {0.1627, 0.3928, 0.6746, 1}
    // p = 0.5 masks cumsum <= 0.5: T = 0.5 keeps {3}, T = 1 keeps {2, 3}.
    EXPECT_EQ(filter(logits_1234(), params_make(0.5f, 0, 0.5f)).ids, (std::vector<int32_t>{3}));
    EXPECT_EQ(filter(logits_1234(), params_make(1.0f, 0, 0.5f)).ids, (std::vector<int32_t>{2, 3}));
    // p = 0.75 masks cumsum <= 0.25: T = 0.5 keeps {2, 3}, T = 1 and T = 2 keep {1, 2, 3}.
    EXPECT_EQ(filter(logits_1234(), params_make(0.5f, 0, 0.75f)).ids, (std::vector<int32_t>{2, 3}));
    EXPECT_EQ(filter(logits_1234(), params_make(1.0f, 0, 0.75f)).ids, (std::vector<int32_t>{1, 2, 3}));
    EXPECT_EQ(filter(logits_1234(), params_make(2.0f, 0, 0.75f)).ids, (std::vector<int32_t>{1, 2, 3}));
    // p = 0.65 masks cumsum <= 0.35: T = 1 keeps {2, 3} but T = 2 keeps {1, 2, 3} (0.3928 > 0.35).
    EXPECT_EQ(filter(logits_1234(), params_make(1.0f, 0, 0.65f)).ids, (std::vector<int32_t>{2, 3}));
    EXPECT_EQ(filter(logits_1234(), params_make(2.0f, 0, 0.65f)).ids, (std::vector<int32_t>{1, 2, 3}));
}

TEST(SamplingFilter, TopKIsAppliedBeforeTopP) {
    // top_k = 2 keeps {2, 3}; renormalised probs {3/7, 4/7} = {0.4286, 0.5714}; ascending cumsum {0.4286, 1}.
    // p = 0.5 masks cumsum <= 0.5, so only id 3 survives. (Top-p first would see cumsum {0.1, 0.3, 0.6, 1} on
    // the full row, keep {2, 3}, and top-2 of that would still be {2, 3}.)
    EXPECT_EQ(filter(logits_1234(), params_make(1.0f, 2, 0.5f)).ids, (std::vector<int32_t>{3}));
    // p = 0.6 masks cumsum <= 0.4: 0.4286 survives, so both stay.
    EXPECT_EQ(filter(logits_1234(), params_make(1.0f, 2, 0.6f)).ids, (std::vector<int32_t>{2, 3}));
}

TEST(SamplingFilter, ReusedOutputAndScratchDoNotLeakBetweenRows) {
    SamplingCandidates c;
    SamplingScratch s;
    difr::sampling_filter(logits_1234(), params_make(1.0f, 0, 0.75f), c, s);
    EXPECT_EQ(c.ids, (std::vector<int32_t>{1, 2, 3}));
    const std::vector<float> l = {4, 1, 5, 2, 3};
    difr::sampling_filter(l, params_make(1.0f, 2, 1.0f), c, s);
    EXPECT_EQ(c.ids, (std::vector<int32_t>{0, 2}));
    EXPECT_EQ(c.x, (std::vector<float>{4, 5}));
    difr::sampling_filter(l, params_make(1.0f, 0, 1.0f), c, s);
    EXPECT_TRUE(c.all);
    EXPECT_TRUE(c.ids.empty());
}

TEST(SamplingParams, GreedyIsTemperatureZero) {
    EXPECT_TRUE(difr::sampling_is_greedy(params_make(0.0f, 50, 0.9f)));
    EXPECT_FALSE(difr::sampling_is_greedy(params_make(0.7f, 0, 1.0f)));
}

TEST(SamplingParams, ValidateRejectsBadFields) {
    EXPECT_NO_THROW(difr::sampling_validate(params_make(0.0f, 0, 1.0f)));
    EXPECT_NO_THROW(difr::sampling_validate(params_make(1.5f, -1, 0.01f)));
    EXPECT_THROW(difr::sampling_validate(params_make(-0.1f, 0, 1.0f)), std::invalid_argument);
    EXPECT_THROW(difr::sampling_validate(params_make(NAN, 0, 1.0f)), std::invalid_argument);
    EXPECT_THROW(difr::sampling_validate(params_make(INFINITY, 0, 1.0f)), std::invalid_argument);
    EXPECT_THROW(difr::sampling_validate(params_make(1.0f, 0, 0.0f)), std::invalid_argument);
    EXPECT_THROW(difr::sampling_validate(params_make(1.0f, 0, 1.5f)), std::invalid_argument);
    EXPECT_THROW(difr::sampling_validate(params_make(1.0f, 0, NAN)), std::invalid_argument);
}

TEST(SamplingParams, ValidateNamesTheField) {
    try {
        difr::sampling_validate(params_make(1.0f, 0, 1.5f));
        FAIL() << "expected std::invalid_argument";
    } catch (const std::invalid_argument &e) {
        EXPECT_NE(std::string(e.what()).find("top_p"), std::string::npos) << e.what();
    }
}

TEST(SamplingParams, Describe) {
    SamplingParams p = params_make(1.0f, 50, 0.95f);
    p.seed = 42;
    EXPECT_EQ(difr::sampling_describe(p), "T=1 top_k=50 top_p=0.95 seed=42");
}

}  // namespace
