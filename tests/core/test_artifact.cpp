// Reading inference artifacts without a model: the OpenAI forms Gonka stores, difr's own JSON, and the
// input errors that name file, sequence and position.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "difr/artifact.h"
#include "difr/error.h"

namespace difr {
namespace {

std::string write(const std::string &name, const std::string &text) {
    const std::string path = (std::filesystem::temp_directory_path() / ("difr_artifact_" + name)).string();
    std::ofstream(path) << text;
    return path;
}

std::string error_of(const std::string &text) {
    try {
        artifact_read(write("bad.json", text));
    } catch (const InputError &e) {
        return e.what();
    }
    return "";
}

const char *kEntry =
    R"({"token": "Hi", "logprob": -0.5, "top_logprobs": [{"token": "Hi", "logprob": -0.5}, {"token": "Yo", "logprob": -1.5}]})";

TEST(Artifact, ReadsAChatResponseWithItsRequest) {
    const std::string doc =
        std::string(R"({"request": {"messages": [{"role": "user", "content": "x"}], "seed": 7,
        "temperature": 0.6, "top_k": 20, "top_p": 0.8}, "response": {"id": "r1", "model": "m", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "HiHi"}, "logprobs": {"content": [)") +
        kEntry + "," + kEntry + "]}}]}}";
    const Artifact a = artifact_read(write("chat.json", doc));
    ASSERT_EQ(a.sequences.size(), 1u);
    EXPECT_EQ(a.source, "openai");
    EXPECT_EQ(a.k, 2);
    EXPECT_EQ(a.sampling.seed, 7);
    EXPECT_DOUBLE_EQ(a.sampling.temperature, 0.6);
    EXPECT_EQ(a.sampling.top_k, 20);
    EXPECT_EQ(a.sequences[0].messages.size(), 1u);
    EXPECT_EQ(a.sequences[0].positions.size(), 2u);
    EXPECT_EQ(a.sequences[0].positions[1].top[1].token, "Yo");
    EXPECT_DOUBLE_EQ(a.sequences[0].positions[1].top[1].logprob, -1.5);
}

TEST(Artifact, ReadsAStreamAsGonkaStoresIt) {
    const std::string ev =
        std::string(R"(data: {"choices": [{"delta": {"content": "Hi"}, "logprobs": {"content": [)") + kEntry +
        "]}}]}";
    std::string esc;
    for (char c : ev) esc += c == '"' ? std::string("\\\"") : std::string(1, c);
    const Artifact a = artifact_read(
        write("stream.json", "{\"events\": [\"" + esc + "\", \"" + esc + "\", \"data: [DONE]\"]}"));
    EXPECT_EQ(a.sequences[0].positions.size(), 2u);
}

TEST(Artifact, DifrJsonRoundTrips) {
    Artifact a;
    a.source = "difr";
    a.k = 2;
    a.sampling.seed = -5;
    a.proof = SeedProofKind::weighted;
    ArtifactSequence s;
    s.id = "inference-1";
    s.prompt_token_ids = {1, 2};
    s.positions.push_back({7, "7", -0.25, {{7, "7", -0.25}, {9, "9", -1.0000001}}});
    a.sequences.push_back(s);
    const std::string path = write("difr.json", artifact_to_json(a));
    const Artifact b = artifact_read(path);
    EXPECT_EQ(b.proof, SeedProofKind::weighted);
    EXPECT_EQ(b.sampling.seed, -5);
    EXPECT_EQ(b.sequences[0].id, "inference-1");
    EXPECT_EQ(b.sequences[0].positions[0].top[1].id, 9);
    EXPECT_EQ(b.sequences[0].positions[0].top[1].logprob, -1.0000001);  // exact round trip
}

TEST(Artifact, InputErrorsNameFileSequenceAndPosition) {
    const std::string head = R"({"choices": [{"logprobs": {"content": [)";
    const std::string tail = "]}}]}";
    EXPECT_NE(
        error_of(head + kEntry +
                 R"(, {"token": "a", "logprob": -1, "top_logprobs": [{"token": "a", "logprob": -1}]})" + tail)
            .find("sequence 0, position 1: 1 top logprobs where earlier positions have 2"),
        std::string::npos);
    EXPECT_NE(error_of(head + R"({"token": "a", "logprob": NaN, "top_logprobs": []})" + tail)
                  .find("sequence 0, position 0: logprob is NaN"),
              std::string::npos);
    EXPECT_NE(error_of(head + R"({"token": "a", "logprob": -Infinity, "top_logprobs": []})" + tail)
                  .find("logprob is -Infinity"),
              std::string::npos);
    EXPECT_NE(error_of(head + R"({"token": "a", "logprob": 1e999, "top_logprobs": []})" + tail)
                  .find("sequence 0, position 0: logprob is 1e999"),
              std::string::npos);
    EXPECT_NE(error_of(head + R"({"token": "a", "logprob": 0.5, "top_logprobs": []})" + tail).find("above 0"),
              std::string::npos);
    EXPECT_NE(error_of(R"({"choices": [{"message": {"content": "x"}}]})")
                  .find("sequence 0, position 0: choices[0].logprobs is missing"),
              std::string::npos);
    EXPECT_NE(
        error_of("[" + head + kEntry + tail + ", " + head + R"({"token": "a", "logprob": -1})" + tail + "]")
            .find("sequence 1, position 0: top_logprobs is missing"),
        std::string::npos);
    EXPECT_NE(
        error_of(R"({"format": "difr-artifact-1", "k": 1, "sampling": {"seed": "0x2a"}, "sequences": []})")
            .find("sampling.seed must be a JSON integer"),
        std::string::npos);
    EXPECT_NE(
        error_of(
            R"({"format": "difr-artifact-1", "k": 1, "sampling": {"seed": 1}, "proof": {"kind": "uniform"},
        "sequences": [{"id": "not-a-uuid", "positions": [{"token": 1, "logprob": -1, "top": [[1, -1]]}]}]})")
            .find("sequence 0: id 'not-a-uuid' is not a canonical lowercase UUID"),
        std::string::npos);
    EXPECT_NE(error_of("{\"choices\": [").find("malformed JSON"), std::string::npos);
}

}  // namespace
}  // namespace difr
