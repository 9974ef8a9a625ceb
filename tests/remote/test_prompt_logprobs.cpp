// Prompt-logprob references, client side: requests and row parsing in both wire formats, and the mapping of
// top-k rows to metrics (-inf outside the top k, as token-difr).
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "difr/reference.h"
#include "difr/remote.h"

namespace difr {
namespace {

using json = nlohmann::json;

const std::vector<int32_t> kTokens = {1, 5, 9, 4};  // prompt 1 5, output 9 4

// A Fireworks-style answer for kTokens plus one generated token; rows list top_logprobs out of order on
// purpose (the parser sorts).
std::string fireworks_body() {
    return R"({"id":"c","object":"text_completion","created":1,"model":"m","choices":[{"index":0,"text":"x",
      "finish_reason":"length","logprobs":{"content":[
        {"token":"<s>","token_id":1,"logprob":null,"top_logprobs":[]},
        {"token":"a","token_id":5,"logprob":-0.5,"top_logprobs":[{"token":"a","token_id":5,"logprob":-0.5}]},
        {"token":"b","token_id":9,"logprob":-1.25,"top_logprobs":[
            {"token":"c","token_id":2,"logprob":-2.0},{"token":"x","token_id":7,"logprob":-0.75},
            {"token":"b","token_id":9,"logprob":-1.25}]},
        {"token":"d","token_id":4,"logprob":-4.0,"top_logprobs":[
            {"token":"e","token_id":3,"logprob":-0.1},{"token":"f","token_id":6,"logprob":-3.0},
            {"token":"g","token_id":8,"logprob":-3.5}]},
        {"token":"z","token_id":0,"logprob":-0.2,"top_logprobs":[{"token":"z","token_id":0,"logprob":-0.2}]}
      ]}}],"usage":{"prompt_tokens":4,"completion_tokens":1,"total_tokens":5}})";
}

std::string vllm_body() {
    return R"({"choices":[{"index":0,"text":"x","prompt_logprobs":[null,
        {"5":{"logprob":-0.5,"rank":1,"decoded_token":"a"}},
        {"9":{"logprob":-1.25,"rank":2,"decoded_token":"b"},"7":{"logprob":-0.75,"rank":1,"decoded_token":"x"}},
        {"3":{"logprob":-0.1,"rank":1,"decoded_token":"e"},"6":{"logprob":-3.0,"rank":2,"decoded_token":"f"},
         "4":{"logprob":-4.0,"rank":7,"decoded_token":"d"}}]}]})";
}

std::string parse_error(LogprobWire w, const std::string &body, size_t start, size_t n) {
    try {
        prompt_logprobs_parse(w, body, kTokens, start, n, 2, "ref (sequence 3)");
    } catch (const RemoteError &e) {
        return e.what();
    }
    return "";
}

TEST(PromptLogprobsRequest, BothWires) {
    const json f =
        json::parse(prompt_logprobs_request_json(LogprobWire::fireworks_echo, "acc/m", kTokens, 5));
    EXPECT_EQ(f,
              json::parse(R"({"model":"acc/m","prompt":[1,5,9,4],"max_tokens":1,"echo":true,"logprobs":true,
                                 "top_logprobs":5})"));
    const json v =
        json::parse(prompt_logprobs_request_json(LogprobWire::vllm_prompt_logprobs, "m", kTokens, 3));
    EXPECT_EQ(v, json::parse(R"({"model":"m","prompt":[1,5,9,4],"max_tokens":1,"prompt_logprobs":3})"));
}

TEST(PromptLogprobsParse, FireworksRowsForTheOutputsSortedAndCutAtK) {
    const auto rows =
        prompt_logprobs_parse(LogprobWire::fireworks_echo, fireworks_body(), kTokens, 2, 2, 2, "ref");
    ASSERT_EQ(rows.size(), 2u);
    ASSERT_EQ(rows[0].size(), 2u);  // k = 2 of the 3 returned
    EXPECT_EQ(rows[0][0].token_id, 7);
    EXPECT_EQ(rows[0][0].logprob, -0.75f);
    EXPECT_EQ(rows[0][1].token_id, 9);
    EXPECT_EQ(rows[0][1].logprob, -1.25f);
    EXPECT_EQ(rows[1][0].token_id, 3);
    EXPECT_EQ(rows[1][1].token_id, 6);
}

TEST(PromptLogprobsParse, VllmDropsTheActualTokenOutsideTheTopK) {
    const auto rows =
        prompt_logprobs_parse(LogprobWire::vllm_prompt_logprobs, vllm_body(), kTokens, 2, 2, 2, "ref");
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].size(), 2u);
    EXPECT_EQ(rows[0][0].token_id, 7);
    EXPECT_EQ(rows[0][1].token_id, 9);
    ASSERT_EQ(rows[1].size(), 2u);  // token 4 came with rank 7: not part of the top 2
    EXPECT_EQ(rows[1][0].token_id, 3);
    EXPECT_EQ(rows[1][1].token_id, 6);
}

TEST(PromptLogprobsParse, ShortAndMismatchedAnswersAreErrors) {
    EXPECT_NE(
        parse_error(LogprobWire::fireworks_echo, fireworks_body(), 2, 9)
            .find("ref (sequence 3): 5 logprob rows, expected at least 11 (2 prompt + 9 output tokens)"),
        std::string::npos);
    std::string body = fireworks_body();
    body.replace(body.find(R"("token_id":9,"logprob":-1.25,"top)"), 13, R"("token_id":8,)");
    EXPECT_NE(parse_error(LogprobWire::fireworks_echo, body, 2, 2)
                  .find("logprobs.content[2]: token_id 8 differs from the token sent (9)"),
              std::string::npos);
    EXPECT_NE(parse_error(LogprobWire::fireworks_echo, R"({"choices":[{"text":"x"}]})", 2, 2)
                  .find("choices[0].logprobs.content is missing"),
              std::string::npos);
    EXPECT_NE(parse_error(LogprobWire::vllm_prompt_logprobs,
                          R"({"choices":[{"prompt_logprobs":[null,{"x":{}}]}]})", 1, 1)
                  .find("prompt_logprobs[1]: key 'x' is not a token id"),
              std::string::npos);
    EXPECT_NE(parse_error(LogprobWire::vllm_prompt_logprobs,
                          R"({"choices":[{"prompt_logprobs":[null,{"5":{"logprob":"a"}}]}]})", 1, 1)
                  .find("row 1: a logprob is string, expected a number"),
              std::string::npos);
    EXPECT_NE(parse_error(LogprobWire::vllm_prompt_logprobs, "{\"choices\":", 1, 1)
                  .find("ref (sequence 3): the JSON answer is truncated: it ends after 11 bytes"),
              std::string::npos);
    EXPECT_NE(parse_error(LogprobWire::vllm_prompt_logprobs, "{\"choices\":]", 1, 1)
                  .find("ref (sequence 3): malformed JSON in the answer at byte 12 of 12"),
              std::string::npos);
}

TEST(TopkMetrics, GreedyAsTokenDifr) {
    // Row 0: claimed 9 is second (margin 0.5, rank 1); row 1: claimed 4 is outside the top 2 (-inf).
    const auto rows =
        prompt_logprobs_parse(LogprobWire::fireworks_echo, fireworks_body(), kTokens, 2, 2, 2, "ref");
    const std::vector<int32_t> out = {9, 4};
    const auto ms = topk_rows_metrics(rows, out, SamplingParams{}, NoiseProfile::vllm, 2, 10);
    ASSERT_EQ(ms.size(), 2u);
    EXPECT_FALSE(ms[0].exact_match);
    EXPECT_EQ(ms[0].predicted, 7);
    EXPECT_FLOAT_EQ(ms[0].margin, 0.5f);
    EXPECT_EQ(ms[0].logit_rank, 1.0f);
    EXPECT_EQ(ms[0].prob, 0.0f);
    EXPECT_FALSE(ms[1].exact_match);
    EXPECT_EQ(ms[1].predicted, 3);
    EXPECT_TRUE(std::isinf(ms[1].margin));
    EXPECT_EQ(ms[1].logit_rank, 2.0f);  // both returned tokens rank above a -inf
    // The claimed token of row 0 as the top one: an exact match with margin 0.
    const std::vector<int32_t> top = {7, 3};
    const auto hit = topk_rows_metrics(rows, top, SamplingParams{}, NoiseProfile::vllm, 2, 10);
    EXPECT_TRUE(hit[0].exact_match && hit[1].exact_match);
    EXPECT_EQ(hit[0].margin, 0.0f);
    EXPECT_EQ(hit[0].prob, 1.0f);
}

TEST(TopkMetrics, LogprobIsTheReturnedOneNotRenormalisedOverTheTopK) {
    // Row 0 returns 7 at -0.75 and 9 at -1.25: the claimed 9 keeps -1.25 (renormalised over the two it would
    // be -1.25 - log(e^-0.75 + e^-1.25) = -0.974). Row 1's claimed 4 is outside the top 2: -inf.
    const auto rows =
        prompt_logprobs_parse(LogprobWire::fireworks_echo, fireworks_body(), kTokens, 2, 2, 2, "ref");
    const std::vector<int32_t> out = {9, 4};
    const auto greedy = topk_rows_metrics(rows, out, SamplingParams{}, NoiseProfile::vllm, 2, 10);
    EXPECT_EQ(greedy[0].logprob, -1.25f);
    EXPECT_TRUE(std::isinf(greedy[1].logprob) && greedy[1].logprob < 0);
    SamplingParams t1;
    t1.temperature = 1.0f;
    t1.seed = 7;
    const auto sampled = topk_rows_metrics(rows, out, t1, NoiseProfile::vllm, 2, 10);
    EXPECT_EQ(sampled[0].logprob, -1.25f);
    EXPECT_TRUE(std::isinf(sampled[1].logprob) && sampled[1].logprob < 0);
}

TEST(TopkMetrics, TokenOutsideTheVocabularyIsAnError) {
    const std::vector<TopkRow> rows = {{{12, -0.1f}}};
    const std::vector<int32_t> out = {1};
    EXPECT_THROW(topk_rows_metrics(rows, out, SamplingParams{}, NoiseProfile::vllm, 2, 10), RemoteError);
}

}  // namespace
}  // namespace difr
