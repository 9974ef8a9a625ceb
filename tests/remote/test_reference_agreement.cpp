// Two references on the same claimed tokens: the agreement counters, and the "cross_reference" object an
// audit result carries.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "difr/audit.h"
#include "difr/reference.h"

namespace difr {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

TokenMetrics metrics(bool exact_match, float logprob) {
    TokenMetrics m;
    m.exact_match = exact_match;
    m.logprob = logprob;
    return m;
}

TEST(ReferenceAgreement, CountsMatchesAndFiniteLogprobDifferences) {
    ReferenceAgreement a;
    EXPECT_TRUE(std::isnan(reference_agreement_rate(a)));
    EXPECT_TRUE(std::isnan(reference_agreement_mean_logprob_diff(a)));
    // Token 0: both match, |diff| 0.25. Token 1: they disagree, |diff| 0.5. Token 2: both match, but the
    // first reference (top-k) did not return the token: no logprob comparison.
    const std::vector<TokenMetrics> x = {metrics(true, -0.5f), metrics(false, -2.0f), metrics(true, kNegInf)};
    const std::vector<TokenMetrics> y = {metrics(true, -0.25f), metrics(true, -2.5f), metrics(true, -0.1f)};
    reference_agreement_add(a, x, y);
    EXPECT_EQ(a.tokens_compared, 3);
    EXPECT_EQ(a.exact_match_agreed, 2);
    EXPECT_EQ(a.logprobs_compared, 2);
    EXPECT_DOUBLE_EQ(a.max_abs_logprob_diff, 0.5);
    EXPECT_DOUBLE_EQ(reference_agreement_rate(a), 2.0 / 3.0);
    EXPECT_DOUBLE_EQ(reference_agreement_mean_logprob_diff(a), 0.375);
    // A second sequence accumulates; both saying "not my choice" is agreement too.
    const std::vector<TokenMetrics> z = {metrics(false, -3.0f)};
    reference_agreement_add(a, z, z);
    EXPECT_EQ(a.tokens_compared, 4);
    EXPECT_EQ(a.exact_match_agreed, 3);
    EXPECT_DOUBLE_EQ(reference_agreement_mean_logprob_diff(a), 0.75 / 3.0);
    EXPECT_THROW(reference_agreement_add(a, x, z), std::invalid_argument);
}

TEST(ReferenceAgreement, AuditResultCarriesTheCrossReference) {
    AuditResult r;
    r.provider = "honest";
    r.config_json = "{}";
    EXPECT_FALSE(nlohmann::json::parse(audit_result_to_json(r)).contains("cross_reference"));

    CrossReferenceResult x;
    x.reference = "vllm_prompt_logprobs:http://127.0.0.1:9/v1 model=m k=5";
    x.summary.exact_match_rate = 0.75;
    x.summary.total_tokens = 4;
    x.summary.avg_logprob = -std::numeric_limits<double>::infinity();
    x.agreement = {4, 3, 0, 0.0, 0.0};
    x.references_new = 2;
    r.cross_reference = x;
    const nlohmann::json j = nlohmann::json::parse(audit_result_to_json(r))["cross_reference"];
    EXPECT_EQ(j,
              nlohmann::json::parse(R"({"reference": "vllm_prompt_logprobs:http://127.0.0.1:9/v1 model=m k=5",
        "exact_match_rate": 0.75, "total_tokens": 4, "avg_logprob": null, "tokens_compared": 4,
        "exact_match_agreement": 0.75, "logprobs_compared": 0, "max_abs_logprob_diff": null,
        "mean_abs_logprob_diff": null, "reference_rows": {"reused": 0, "new": 2}})"));
    EXPECT_EQ(
        cross_reference_line(x),
        "cross-reference vllm_prompt_logprobs:http://127.0.0.1:9/v1 model=m k=5: 75.00% exact match of 4 "
        "tokens; agrees with the reference on 75.00% of 4 tokens; no token has a finite logprob from both");
    x.agreement = {4, 3, 2, 0.5, 0.75};
    EXPECT_EQ(cross_reference_line(x).substr(cross_reference_line(x).find("; |")),
              "; |logprob diff| max 0.5, mean 0.375 over 2 tokens");
}

}  // namespace
}  // namespace difr
