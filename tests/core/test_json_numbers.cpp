// A JSON number beyond double's range ("1e999") is bad input like any other malformed JSON: an InputError
// that names the file. nlohmann's parser reports it with out_of_range (406), not parse_error, and every
// parser let it escape as an "internal error" (exit 3) until the fuzzers found it (tests/fuzz/regressions/*/
// *-number-overflow.bin).
#include <gtest/gtest.h>

#include <functional>

#include "difr/audit_report.h"
#include "difr/checkpoint.h"
#include "difr/error.h"
#include "difr/jsonl.h"
#include "difr/registry.h"
#include "difr/sequences.h"

namespace difr {
namespace {

std::string input_error(const std::function<void()> &fn) {
    try {
        fn();
    } catch (const InputError &e) {
        return e.what();
    }
    return "(no InputError)";
}

TEST(JsonNumbers, OverflowIsAnInputErrorNamingTheFile) {
    const std::string big = "1e999";
    EXPECT_EQ(input_error([&] { json_parse_located("[" + big + "]", "a.json"); }),
              "a.json: malformed JSON: [json.exception.out_of_range.406] number overflow parsing '1e999'");
    EXPECT_EQ(
        input_error([&] { jsonl_for_each("{}\n[-1e999]\n", "b.jsonl", [](const auto &, const auto &) {}); }),
        "b.jsonl:2: malformed JSON: [json.exception.out_of_range.406] number overflow parsing '-1e999'");
    EXPECT_NE(input_error([&] {
                  sequences_parse(R"([{"prompt_token_ids": [1e999]}])", "s.json");
              }).find("s.json: malformed JSON"),
              std::string::npos);
    Registry r;
    EXPECT_NE(
        input_error([&] { r.merge_text(R"({"models": 1e999})", "r.json"); }).find("r.json: malformed JSON"),
        std::string::npos);
    EXPECT_NE(input_error([&] {
                  audit_report_parse(R"({"p": {"exact_match_rate": 2e308}})", "x.json");
              }).find("x.json: malformed JSON"),
              std::string::npos);
    const std::vector<std::vector<int32_t>> prompts = {{1}};
    EXPECT_NE(input_error([&] {
                  generate_checkpoint_parse("[1e999]\n", "g.partial.jsonl", "{}", prompts);
              }).find("g.partial.jsonl:1: malformed JSON"),
              std::string::npos);
    const std::vector<TokenSequence> seqs = {{{1}, {2}}};
    EXPECT_NE(input_error([&] {
                  verify_tokens_parse(R"({"seq":0,"prob":2e308})"
                                      "\n",
                                      "t.jsonl", seqs);
              }).find("t.jsonl:1: malformed JSON"),
              std::string::npos);
}

}  // namespace
}  // namespace difr
