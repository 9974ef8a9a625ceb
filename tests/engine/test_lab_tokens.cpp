// A lab pass's tokens.jsonl as difr analyze reads it: rows grouped by sequence index, null margins as +inf,
// and malformed lines named by file and line. An index beyond the lab's prompts is refused: read as it was,
// a stray {"seq": 1e18} allocated that many empty sequences.
#include <gtest/gtest.h>

#include <cmath>

#include "difr/error.h"
#include "difr/lab_analysis.h"

namespace difr {
namespace {

const LabConfigInfo kConfig{"q4_0", "deviation", ""};

std::string message_of(const std::string &text, int64_t max_sequences = kLabMaxSequences) {
    try {
        lab_tokens_parse(text, "runs/q4_0-t1/tokens.jsonl", kConfig, max_sequences);
    } catch (const InputError &e) {
        return e.what();
    }
    return "(no error)";
}

TEST(LabTokens, RowsBySequence) {
    const ConfigTokens c = lab_tokens_parse(
        R"({"seq":0,"pos":0,"exact_match":true,"prob":0.5,"margin":0}
{"seq":2,"pos":0,"exact_match":false,"prob":0.25,"margin":null}

{"seq":2,"pos":1,"exact_match":false,"prob":0.125,"margin":1.5}
)",
        "t.jsonl", kConfig);
    EXPECT_EQ(c.name, "q4_0");
    EXPECT_FALSE(c.honest);
    ASSERT_EQ(c.sequences.size(), 3u);
    EXPECT_EQ(c.sequences[0].size(), 1u);
    EXPECT_TRUE(c.sequences[1].empty());  // a sequence without outputs keeps its index
    ASSERT_EQ(c.sequences[2].size(), 2u);
    EXPECT_TRUE(std::isinf(c.sequences[2][0].margin));
    EXPECT_EQ(c.sequences[2][1].prob, 0.125f);
}

TEST(LabTokens, MalformedLinesAreNamed) {
    EXPECT_NE(message_of(R"({"seq":1e18,"exact_match":true,"prob":0.5,"margin":0})"
                         "\n")
                  .find("runs/q4_0-t1/tokens.jsonl:1: 'seq' must be a non-negative integer"),
              std::string::npos);
    EXPECT_NE(message_of(R"({"seq":1000000000000000000,"exact_match":true,"prob":0.5,"margin":0})"
                         "\n")
                  .find("tokens.jsonl:1: 'seq' is 1000000000000000000, beyond the lab's 1048576 prompts"),
              std::string::npos);
    EXPECT_NE(message_of(R"({"seq":12,"exact_match":true,"prob":0.5,"margin":0})"
                         "\n",
                         12)
                  .find("'seq' is 12, beyond the lab's 12 prompts"),
              std::string::npos);
    EXPECT_NE(message_of("{\"seq\":0,\"exact_match\":true,\"prob\":0.5,\"margin\":0}\n{\"seq\":\n")
                  .find("tokens.jsonl:2: malformed JSON"),
              std::string::npos);
    EXPECT_NE(message_of(R"({"seq":0,"exact_match":"yes","prob":0.5,"margin":0})"
                         "\n")
                  .find("'exact_match' must be true or false"),
              std::string::npos);
    EXPECT_NE(message_of(R"({"seq":0,"exact_match":true,"margin":0})"
                         "\n")
                  .find("missing field 'prob'"),
              std::string::npos);
}

}  // namespace
}  // namespace difr
