// Checkpoints of difr generate and difr verify: what a killed run finished is read back exactly, a torn last
// line or an unfinished sequence is cut, and a checkpoint of another run, of an older difr or of another
// format is refused with a message that says so.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>

#include "difr/checkpoint.h"
#include "difr/error.h"
#include "difr/results.h"

namespace difr {
namespace {

namespace fs = std::filesystem;

const std::string kIdentity =
    R"({"model_sha256":"ab","sampling":{"temperature":1,"seed":42},"max_tokens":8})";
const std::vector<std::vector<int32_t>> kPrompts = {{1, 2, 3}, {1, 4}, {1, 5, 6, 7}};

std::string header(const std::string &identity = kIdentity, int format = 1) {
    return R"({"difr_checkpoint":"generate","format":)" + std::to_string(format) + R"(,"run":)" + identity +
           "}\n";
}

std::string message_of(const std::function<void()> &fn) {
    try {
        fn();
    } catch (const InputError &e) {
        return e.what();
    }
    return "(no error)";
}

TEST(GenerateCheckpoint, KeepsWholeLinesAndCutsATornOne) {
    const std::string kept = header() +
                             R"({"index":2,"prompt_token_ids":[1,5,6,7],"output_token_ids":[9,9,2]})" + "\n" +
                             R"({"index":0,"prompt_token_ids":[1,2,3],"output_token_ids":[8]})" + "\n";
    const std::string text = kept + R"({"index":1,"prompt_token_ids":[1,4],"outp)";
    const GenerateCheckpointState st =
        generate_checkpoint_parse(text, "g.partial.jsonl", kIdentity, kPrompts);
    ASSERT_EQ(st.finished.size(), 2u);
    EXPECT_EQ(st.finished.at(2).output_token_ids, (std::vector<int32_t>{9, 9, 2}));
    EXPECT_EQ(st.finished.at(0).prompt_token_ids, kPrompts[0]);
    EXPECT_EQ(st.valid_bytes, kept.size());
    // A header torn before its newline: nothing was finished.
    EXPECT_EQ(generate_checkpoint_parse(header().substr(0, 20), "g", kIdentity, kPrompts).valid_bytes, 0u);
}

TEST(GenerateCheckpoint, RefusesWhatItCannotTrust) {
    const std::string row = R"({"index":0,"prompt_token_ids":[1,2,3],"output_token_ids":[8]})"
                            "\n";
    auto parse = [&](const std::string &text) {
        return message_of([&] { generate_checkpoint_parse(text, "g.partial.jsonl", kIdentity, kPrompts); });
    };
    // The partial file of a difr from before checkpoints: rows without a header.
    EXPECT_NE(parse(row).find("g.partial.jsonl:1: not a difr generate checkpoint (no run header"),
              std::string::npos);
    EXPECT_NE(parse(header(kIdentity, 2) + row)
                  .find("g.partial.jsonl:1: checkpoint format 2; this difr reads "
                        "format 1"),
              std::string::npos);
    const std::string other =
        R"({"model_sha256":"ab","sampling":{"temperature":1,"seed":43},"max_tokens":8})";
    EXPECT_NE(
        parse(header(other) + row).find("other settings (sampling.seed: 42 here, 43 in the checkpoint)"),
        std::string::npos)
        << parse(header(other) + row);
    EXPECT_NE(parse(header() + R"({"index":0,"prompt_token_ids":[1,2],"output_token_ids":[8]})"
                               "\n")
                  .find("g.partial.jsonl:2: the prompt of sequence 0 is not this run's prompt 0"),
              std::string::npos);
    EXPECT_NE(parse(header() + row + row).find("g.partial.jsonl:3: sequence 0 appears twice"),
              std::string::npos);
    EXPECT_NE(parse(header() + R"({"index":3,"prompt_token_ids":[1],"output_token_ids":[8]})"
                               "\n")
                  .find("\"index\" must be a prompt index below 3"),
              std::string::npos);
    EXPECT_NE(parse(header() + "{\"index\":\n").find("g.partial.jsonl:2: malformed JSON"), std::string::npos);
    // Another run's header with nothing finished under it is simply replaced.
    EXPECT_EQ(generate_checkpoint_parse(header(other), "g", kIdentity, kPrompts).valid_bytes, 0u);
}

class CheckpointFiles : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("difr-ckpt-" + std::to_string(::getpid()) + "-" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    fs::path dir_;
};

TEST_F(CheckpointFiles, GenerateResumesAfterATornWrite) {
    const std::string path = (dir_ / "g.json.partial.jsonl").string();
    {
        GenerateCheckpoint c(path, kIdentity, kPrompts);
        EXPECT_TRUE(c.finished().empty());
        c.append(1, {kPrompts[1], {7, 7}});
    }
    std::ofstream(path, std::ios::app) << R"({"index":0,"prompt_tok)";  // killed mid-write
    {
        GenerateCheckpoint c(path, kIdentity, kPrompts);
        ASSERT_EQ(c.finished().size(), 1u);
        EXPECT_EQ(c.finished().at(1).output_token_ids, (std::vector<int32_t>{7, 7}));
        c.append(0, {kPrompts[0], {3}});
    }
    GenerateCheckpoint c(path, kIdentity, kPrompts);
    EXPECT_EQ(c.finished().size(), 2u);
    c.remove();
    EXPECT_FALSE(fs::exists(path));
}

std::vector<TokenSequence> verify_seqs() {
    return {{{1, 2}, {5, 6}}, {{1}, {}}, {{1, 3}, {7, 8, 9}}, {{1}, {4}}};
}

std::string row(int seq, int pos, int token,
                const char *rest = R"("exact_match":true,"prob":0.5,"margin":0,)"
                                   R"("logit_rank":0,"gumbel_rank":0,"logprob":-0.25)") {
    return "{\"seq\":" + std::to_string(seq) + ",\"pos\":" + std::to_string(pos) +
           ",\"token\":" + std::to_string(token) + ",\"predicted\":" + std::to_string(token) + "," + rest +
           "}\n";
}

TEST(VerifyCheckpoint, TheLongestPrefixOfWholeSequences) {
    const std::string first = row(0, 0, 5) + row(0, 1, 6,
                                                 R"("exact_match":false,"prob":0.125,"margin":null,)"
                                                 R"("logit_rank":3,"gumbel_rank":null,"logprob":null)");
    // Sequence 1 has no outputs and no rows; sequence 2 was cut after two of its three rows.
    const std::string text = first + row(2, 0, 7) + row(2, 1, 8) + R"({"seq":2,"pos":2,"tok)";
    const VerifyCheckpointState st = verify_tokens_parse(text, "o/tokens.jsonl", verify_seqs());
    EXPECT_EQ(st.sequences_done, 2u);
    EXPECT_EQ(st.valid_bytes, first.size());
    ASSERT_EQ(st.metrics.size(), 2u);
    EXPECT_TRUE(st.metrics[1].empty());
    ASSERT_EQ(st.metrics[0].size(), 2u);
    const TokenMetrics &m = st.metrics[0][1];
    EXPECT_FALSE(m.exact_match);
    EXPECT_EQ(m.predicted, 6);
    EXPECT_EQ(m.prob, 0.125f);
    EXPECT_EQ(m.logit_rank, 3.0f);
    EXPECT_TRUE(std::isinf(m.margin) && m.margin > 0);  // null: +inf, as the writer meant it
    EXPECT_TRUE(std::isinf(m.gumbel_rank) && m.gumbel_rank > 0);
    EXPECT_TRUE(std::isinf(m.logprob) && m.logprob < 0);
    EXPECT_EQ(st.metrics[0][0].logprob, -0.25f);
}

TEST(VerifyCheckpoint, RowsOfAnotherInputAreRefused) {
    auto parse = [](const std::string &text) {
        return message_of([&] { verify_tokens_parse(text, "o/tokens.jsonl", verify_seqs()); });
    };
    EXPECT_NE(parse(row(0, 0, 5) + row(0, 1, 9))
                  .find("o/tokens.jsonl:2: expected the row of sequence 0, "
                        "position 1, token 6: the file was not written for this input"),
              std::string::npos);
    EXPECT_NE(parse(row(1, 0, 5)).find("o/tokens.jsonl:1: expected the row of sequence 0, position 0"),
              std::string::npos);
    const std::string all =
        row(0, 0, 5) + row(0, 1, 6) + row(2, 0, 7) + row(2, 1, 8) + row(2, 2, 9) + row(3, 0, 4);
    EXPECT_EQ(verify_tokens_parse(all, "t", verify_seqs()).sequences_done, 4u);
    EXPECT_NE(
        parse(all + row(4, 0, 1)).find("o/tokens.jsonl:7: a row past the last of the input's 4 sequences"),
        std::string::npos);
    EXPECT_NE(parse(R"({"seq":0,"pos":0,"token":5,"predicted":5,"exact_match":1})"
                    "\n")
                  .find("\"exact_match\" must be true or false"),
              std::string::npos);
}

TEST_F(CheckpointFiles, VerifyDirectories) {
    const std::string out = (dir_ / "v").string();
    const std::string id = R"({"sequences_sha256":"cd","sampling":{"seed":1}})";
    EXPECT_EQ(verify_checkpoint_open(out, id, verify_seqs()).sequences_done, 0u);
    ASSERT_TRUE(fs::exists(out + "/verify-run.json"));
    std::ofstream(out + "/tokens.jsonl", std::ios::app) << row(0, 0, 5) << row(0, 1, 6) << row(2, 0, 7);
    const VerifyCheckpointState st = verify_checkpoint_open(out, id, verify_seqs());
    EXPECT_EQ(st.sequences_done, 2u);
    EXPECT_EQ(fs::file_size(out + "/tokens.jsonl"), (row(0, 0, 5) + row(0, 1, 6)).size());  // cut

    const std::string other = R"({"sequences_sha256":"cd","sampling":{"seed":2}})";
    EXPECT_NE(
        message_of([&] { verify_checkpoint_open(out, other, verify_seqs()); })
            .find("verify-run.json: the checkpoint belongs to a run with other settings (sampling.seed: 2 "
                  "here, 1 in the checkpoint)"),
        std::string::npos);

    // An output directory of a difr from before checkpoints: rows without verify-run.json.
    const std::string old = (dir_ / "old").string();
    fs::create_directories(old);
    std::ofstream(old + "/tokens.jsonl") << row(0, 0, 5);
    EXPECT_NE(message_of([&] {
                  verify_checkpoint_open(old, id, verify_seqs());
              }).find("holds a tokens.jsonl without verify-run.json"),
              std::string::npos);
}

TEST_F(CheckpointFiles, TokenWriterAppendsWithTheOffset) {
    const std::string path = (dir_ / "tokens.jsonl").string();
    std::ofstream(path) << row(0, 0, 5);
    {
        TokenMetricsWriter w(path, /*append=*/true, 3);
        TokenMetrics m;
        m.exact_match = true;
        m.predicted = 4;
        m.prob = 0.5f;
        m.margin = INFINITY;
        w.write(0, 0, 4, m);
        w.end_sequence();
    }
    std::ifstream in(path);
    std::string a, b;
    std::getline(in, a);
    std::getline(in, b);
    EXPECT_EQ(a + "\n", row(0, 0, 5));
    EXPECT_EQ(b, R"({"seq":3,"pos":0,"token":4,"predicted":4,"exact_match":true,"prob":0.5,"margin":null,)"
                 R"("logit_rank":0,"gumbel_rank":0,"logprob":0})");
}

}  // namespace
}  // namespace difr
