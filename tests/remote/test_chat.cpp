// Chat-completion requests and answers: OpenRouter's provider pinning and provider field, reasoning
// re-joined as <think>...</think>, token ids in logprobs, malformed answers reported with their position.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "difr/remote.h"

namespace difr {
namespace {

using json = nlohmann::json;

std::string error_of(const std::string &body) {
    try {
        chat_response_parse(body, "groq: POST http://h/v1/chat/completions (prompt 7)");
    } catch (const RemoteError &e) {
        return e.what();
    }
    return "";
}

TEST(ChatRequest, OpenRouterPinningAndSampling) {
    ChatRequest r;
    r.messages = {{"system", "Be brief."}, {"user", "Hi"}};
    r.sampling.temperature = 0.0f;
    r.sampling.seed = 42;
    r.max_tokens = 200;
    r.pin_provider = "deepinfra/fp8";
    const json j = json::parse(chat_request_json(r, "meta-llama/llama-3.1-8b-instruct"));
    EXPECT_EQ(j["model"], "meta-llama/llama-3.1-8b-instruct");
    EXPECT_EQ(j["messages"],
              json::parse(R"([{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}])"));
    EXPECT_EQ(j["max_tokens"], 200);
    EXPECT_EQ(j["temperature"], 0.0);
    EXPECT_EQ(j["seed"], 42);
    EXPECT_EQ(j["provider"], json::parse(R"({"only":["deepinfra/fp8"],"allow_fallbacks":false})"));
    EXPECT_FALSE(j.contains("top_p"));  // 1: off, left to the provider's default of 1
    EXPECT_FALSE(j.contains("top_k"));
    EXPECT_FALSE(j.contains("logprobs"));
}

TEST(ChatRequest, DirectEndpointWithFiltersAndLogprobs) {
    ChatRequest r;
    r.messages = {{"user", "Hi"}};
    r.sampling = {0.7f, 50, 0.95f, 7};
    r.send_seed = false;
    r.logprobs = true;
    const json j = json::parse(chat_request_json(r, "m"));
    EXPECT_FLOAT_EQ(j["temperature"].get<float>(), 0.7f);
    EXPECT_EQ(j["top_k"], 50);
    EXPECT_FLOAT_EQ(j["top_p"].get<float>(), 0.95f);
    EXPECT_FALSE(j.contains("seed"));
    EXPECT_FALSE(j.contains("provider"));
    EXPECT_EQ(j["logprobs"], true);
}

TEST(ChatResponse, OpenRouterAnswerWithProviderAndReasoning) {
    const std::string body =
        R"({"id":"gen-1","provider":"Groq","model":"qwen/qwen3-32b","object":"chat.completion",
        "choices":[{"index":0,"finish_reason":"length","message":{"role":"assistant","content":"Paris.",
        "reasoning":"The capital of France is Paris."}}],"usage":{"prompt_tokens":9,"completion_tokens":12}})";
    const ChatResponse r = chat_response_parse(body, "test");
    EXPECT_EQ(r.id, "gen-1");
    EXPECT_EQ(r.provider, "Groq");
    EXPECT_EQ(r.model, "qwen/qwen3-32b");
    EXPECT_EQ(r.content, "Paris.");
    EXPECT_EQ(r.reasoning, "The capital of France is Paris.");
    EXPECT_EQ(r.finish_reason, "length");
    EXPECT_FALSE(r.token_ids.has_value());
    EXPECT_EQ(chat_response_text(r), "<think>The capital of France is Paris.</think>Paris.");
}

TEST(ChatResponse, ReasoningContentAndNullContent) {
    const ChatResponse r = chat_response_parse(
        R"({"choices":[{"finish_reason":"stop","message":{"content":null,"reasoning_content":"hmm"}}]})",
        "t");
    EXPECT_EQ(r.content, "");
    EXPECT_EQ(r.reasoning, "hmm");
    EXPECT_EQ(chat_response_text(r), "<think>hmm</think>");
    EXPECT_EQ(r.provider, "");
}

TEST(ChatResponse, NoReasoningMeansPlainContent) {
    const ChatResponse r =
        chat_response_parse(R"({"choices":[{"message":{"content":"Hello","reasoning":null}}]})", "t");
    EXPECT_EQ(chat_response_text(r), "Hello");
}

TEST(ChatResponse, TokenIdsFromTheThreeShapes) {
    // llama-server: "id"; Fireworks: "token_id"; vLLM with return_tokens_as_token_ids: "token_id:N" strings.
    auto ids = [](const std::string &content) {
        return chat_response_parse(
                   R"({"choices":[{"message":{"content":"ab"},"logprobs":{"content":)" + content + "}}]}",
                   "t")
            .token_ids;
    };
    EXPECT_EQ(ids(R"([{"id":12,"token":"a","logprob":-0.1},{"id":7,"token":"b","logprob":-1}])"),
              (std::vector<int32_t>{12, 7}));
    EXPECT_EQ(ids(R"([{"token_id":3,"token":"a"}])"), (std::vector<int32_t>{3}));
    EXPECT_EQ(ids(R"([{"token":"token_id:49151","logprob":0}])"), (std::vector<int32_t>{49151}));
    EXPECT_EQ(ids(R"([{"token":"a","logprob":0}])"), std::nullopt);  // plain OpenAI: no ids
    EXPECT_EQ(ids(R"([{"id":1},{"token":"b"}])"), std::nullopt);     // all or nothing
}

TEST(ChatResponse, MalformedJsonNamesTheByte) {
    // The second comma is the 45th of 47 bytes.
    const std::string m = error_of(R"({"choices": [{"message": {"content": "Hi"}},,]})");
    EXPECT_NE(
        m.find(
            "groq: POST http://h/v1/chat/completions (prompt 7): malformed JSON in the answer at byte 45 of "
            "47"),
        std::string::npos)
        << m;
}

// nlohmann reports a number beyond double's range with out_of_range, not parse_error; it escaped as an
// internal error until fuzz_chat_response found it.
TEST(ChatResponse, NumberOverflowIsARemoteError) {
    EXPECT_NE(
        error_of(R"({"choices": [{"message": {"content": "Hi"}, "index": 1e999}]})")
            .find(
                "(prompt 7): malformed JSON in the answer ([json.exception.out_of_range.406] number overflow "
                "parsing '1e999')"),
        std::string::npos);
}

TEST(ChatResponse, TruncatedJsonIsCalledTruncated) {
    const std::string body = R"({"choices":[{"message":{"content":"Hel)";
    const std::string m = error_of(body);
    EXPECT_NE(
        m.find("(prompt 7): the JSON answer is truncated: it ends after 38 bytes in the middle of a value"),
        std::string::npos)
        << m;
}

TEST(ChatResponse, MissingAndMistypedFields) {
    EXPECT_NE(error_of(R"({"choices":[]})").find("no choices[0]"), std::string::npos);
    EXPECT_NE(error_of(R"([1,2])").find("the answer is array, expected an object"), std::string::npos);
    EXPECT_NE(error_of(R"({"choices":[{"text":"x"}]})").find("choices[0].message is missing"),
              std::string::npos);
    EXPECT_NE(error_of(R"({"choices":[{"message":{"content":5}}]})")
                  .find("choices[0].message.content is number, expected a string"),
              std::string::npos);
    EXPECT_NE(error_of(R"({"error":{"message":"No endpoints found matching your data policy","code":404}})")
                  .find("the answer is an error: {\"code\":404"),
              std::string::npos);
}

TEST(Provider, SlugAgainstDisplayName) {
    EXPECT_TRUE(provider_matches("groq", "Groq"));
    EXPECT_TRUE(provider_matches("deepinfra/fp8", "DeepInfra"));
    EXPECT_TRUE(provider_matches("together", "Together"));
    EXPECT_TRUE(provider_matches("google-vertex", "Google Vertex"));
    EXPECT_FALSE(provider_matches("groq", "Together"));
    EXPECT_FALSE(provider_matches("groq", ""));
}

}  // namespace
}  // namespace difr
