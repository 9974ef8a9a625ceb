// Gonka's similarity and the seed document's distance2 on hand-computed cases (the conformance test holds
// the similarity to Go's own output on many more).
#include <gtest/gtest.h>

#include <cmath>

#include "difr/gonka.h"

namespace difr {
namespace {

GonkaPosition pos(std::string tok, std::vector<GonkaTop> top) {
    return {std::move(tok), top[0].logprob, std::move(top)};
}

TEST(GonkaSimilarity, PositionDistanceByHand) {
    // Prover: a -1, b -2. Validator: a -1.5 (matched), c -3 (fallback m1 - (m2 - m1) = -2 - (-1 - -2) = -3).
    const std::vector<GonkaTop> prover = {{"a", -1.0}, {"b", -2.0}};
    const std::vector<GonkaTop> validator = {{"a", -1.5}, {"c", -3.0}};
    double d = -1;
    ASSERT_TRUE(gonka_position_distance(prover, validator, d));
    EXPECT_DOUBLE_EQ(d, 0.5 / (1e-6 + 2.5) / 2.0 + 0.0);
    // One distinct prover token: m2 = m1 - 100, fallback m1 + 100 = 99 (sic: Go's arithmetic, above 0).
    const std::vector<GonkaTop> one = {{"a", -1.0}, {"a", -1.0}};
    ASSERT_TRUE(gonka_position_distance(one, std::vector<GonkaTop>{{"z", -1.0}}, d));
    EXPECT_DOUBLE_EQ(d, 100.0 / (1e-6 + 1.0 + 99.0) / 2.0);
    // Duplicates: the last value wins, as in a Go map.
    ASSERT_TRUE(gonka_position_distance(std::vector<GonkaTop>{{"a", -1.0}, {"b", -2.0}, {"a", -4.0}},
                                        std::vector<GonkaTop>{{"a", -4.0}}, d));
    EXPECT_DOUBLE_EQ(d, 0.0);
    EXPECT_FALSE(gonka_position_distance({}, validator, d));
}

TEST(GonkaSimilarity, NormalisesByMax100AndClampsAtZero) {
    // 3 positions at k = 2, one position off by the first case's distance: 1 - d / (100 * 2).
    std::vector<GonkaPosition> a = {pos("a", {{"a", -1.0}, {"b", -2.0}}),
                                    pos("a", {{"a", -1.0}, {"b", -2.0}}),
                                    pos("a", {{"a", -1.0}, {"b", -2.0}})};
    std::vector<GonkaPosition> b = a;
    EXPECT_DOUBLE_EQ(gonka_custom_similarity(a, b), 1.0);
    b[1].top = {{"a", -1.5}, {"c", -3.0}};
    EXPECT_DOUBLE_EQ(gonka_custom_similarity(a, b), 1.0 - (0.5 / (1e-6 + 2.5) / 2.0) / 200.0);
    // An empty validator list anywhere: Go's error path, 0.
    b[2].top.clear();
    EXPECT_EQ(gonka_custom_similarity(a, b), 0.0);
}

TEST(GonkaSimilarity, CompareScoresMismatchesZero) {
    std::vector<GonkaPosition> a = {pos("x", {{"x", -0.1}}), pos("y", {{"y", -0.2}})};
    std::vector<GonkaPosition> b = a;
    b[1].token = "z";
    GonkaComparison c = gonka_compare(a, b);
    EXPECT_EQ(c.outcome, GonkaOutcome::different_tokens);
    EXPECT_EQ(c.first_diff, 1u);
    EXPECT_EQ(c.value, 0.0);
    c = gonka_compare(a, std::span<const GonkaPosition>(a.data(), 1));
    EXPECT_EQ(c.outcome, GonkaOutcome::different_length);
    // A longer validation is compared on the original's positions.
    std::vector<GonkaPosition> longer = a;
    longer.push_back(pos("w", {{"w", -3.0}}));
    c = gonka_compare(a, longer);
    EXPECT_EQ(c.outcome, GonkaOutcome::similarity);
    EXPECT_DOUBLE_EQ(c.value, 1.0);
    EXPECT_TRUE(gonka_passes(0.981, 0.98));
    EXPECT_FALSE(gonka_passes(0.98, 0.98));  // strict, as the chain decides
}

TEST(GonkaDistance2, ByHand) {
    // Prover a -1, b -2; validator a -1.5, c -3: b misses, fallback from the validator's minimums
    // m1 = -3, m2 = -1.5: -3 - 1.5 = -4.5.
    std::vector<GonkaPosition> inf = {pos("a", {{"a", -1.0}, {"b", -2.0}})};
    std::vector<GonkaPosition> val = {pos("a", {{"a", -1.5}, {"c", -3.0}})};
    const Distance2 d = gonka_distance2(inf, val);
    const double sum = 0.5 / (1e-10 + 2.5) / 2.0 + 2.5 / (1e-10 + 6.5) / 2.0;
    EXPECT_DOUBLE_EQ(d.distance, (sum + 1.0) / (100.0 * 2.0 + 1.0));
    EXPECT_DOUBLE_EQ(d.matches_ratio, 0.5);
    val[0].token = "b";
    EXPECT_EQ(gonka_distance2(inf, val).distance, -1.0);
}

}  // namespace
}  // namespace difr
