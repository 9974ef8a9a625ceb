// difr verify against a remote prompt-logprob reference: an in-process vLLM-style server, answers that
// complete out of order, failures that name the sequence, and the reference spec parser.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "difr/error.h"
#include "difr/reference.h"
#include "local_server.h"

namespace difr {
namespace {

using json = nlohmann::json;
constexpr int32_t kVocab = 10;

// vLLM's prompt_logprobs over a 10-token vocabulary: at every position the actual token is the most likely
// (-0.25), except token 6, where 7 is (-0.1) and 6 second (-2.0). The first prompt token picks a fate:
// 8 answers after 300 ms (so it completes last), 9 answers HTTP 500, 0 answers malformed JSON.
void serve_fake_vllm(LocalServer &s, std::atomic<int> &hits) {
    s.server().Post("/v1/completions", [&](const httplib::Request &req, httplib::Response &res) {
        ++hits;
        const json q = json::parse(req.body);
        const std::vector<int32_t> tokens = q.at("prompt").get<std::vector<int32_t>>();
        if (tokens[0] == 9) {
            res.status = 500;
            res.set_content(R"({"error": "engine crashed"})", "application/json");
            return;
        }
        if (tokens[0] == 0) {
            res.set_content(R"({"choices": [{"prompt_logprobs": [null, {"1": )", "application/json");
            return;
        }
        if (tokens[0] == 8) std::this_thread::sleep_for(std::chrono::milliseconds(300));
        json rows = json::array({nullptr});
        for (size_t i = 1; i < tokens.size(); ++i) {
            json row = json::object();
            if (tokens[i] == 6) {
                row["7"] = {{"logprob", -0.1}, {"rank", 1}};
                row["6"] = {{"logprob", -2.0}, {"rank", 2}};
            } else {
                row[std::to_string(tokens[i])] = {{"logprob", -0.25}, {"rank", 1}};
            }
            rows.push_back(row);
        }
        json body = {{"choices", json::array({{{"index", 0}, {"text", "x"}, {"prompt_logprobs", rows}}})}};
        res.set_content(body.dump(), "application/json");
    });
}

ReferenceSpec vllm_at(const LocalServer &s) {
    return reference_spec_parse("vllm=" + s.url("/v1"), "m", "", 2);
}

RemoteVerifyOptions quick(int32_t concurrency) {
    RemoteVerifyOptions o;
    o.concurrency = concurrency;
    o.http.connect_timeout_s = 2;
    o.http.timeout_s = 5;
    o.http.max_attempts = 2;
    o.http.backoff_initial_s = 0.01;
    o.http.on_retry = [](const std::string &) {};
    return o;
}

std::vector<TokenSequence> seqs_of(std::vector<std::pair<std::vector<int32_t>, std::vector<int32_t>>> v) {
    std::vector<TokenSequence> out;
    for (auto &[p, o] : v) out.push_back({p, o});
    return out;
}

TEST(VerifyRemote, WritesInInputOrderWhateverOrderTheAnswersComeIn) {
    LocalServer s;
    std::atomic<int> hits{0};
    serve_fake_vllm(s, hits);
    // Sequence 0 is answered last; sequence 1 has no output and is never sent.
    const auto seqs = seqs_of({{{8, 1}, {2, 3}}, {{1}, {}}, {{2, 3}, {6, 4}}, {{4}, {5}}});
    const std::string path = ::testing::TempDir() + "/verify_remote_tokens.jsonl";
    std::vector<size_t> order;
    std::vector<std::vector<TokenMetrics>> got(seqs.size());
    VerifyResult r;
    {
        TokenMetricsWriter writer(path);
        r = verify_sequences_remote(vllm_at(s), kVocab, seqs, quick(4), &writer, {},
                                    [&](size_t i, std::span<const TokenMetrics> ms) {
                                        order.push_back(i);
                                        got[i].assign(ms.begin(), ms.end());
                                    });
    }
    EXPECT_EQ(hits.load(), 3);
    EXPECT_EQ(order, (std::vector<size_t>{0, 1, 2, 3}));
    ASSERT_EQ(got[2].size(), 2u);
    EXPECT_FALSE(got[2][0].exact_match);  // 6 is second to 7: margin 1.9, its own logprob -2
    EXPECT_EQ(got[2][0].predicted, 7);
    EXPECT_FLOAT_EQ(got[2][0].margin, 1.9f);
    EXPECT_EQ(got[2][0].logprob, -2.0f);
    EXPECT_TRUE(got[2][1].exact_match);
    EXPECT_EQ(got[2][1].logprob, -0.25f);
    EXPECT_TRUE(got[0][0].exact_match && got[0][1].exact_match && got[3][0].exact_match);
    EXPECT_EQ(r.summary.total_tokens, 5);
    EXPECT_EQ(r.summary.n_sequences, 3);
    EXPECT_EQ(r.summary.skipped_sequences, 1);
    EXPECT_DOUBLE_EQ(r.summary.exact_match_rate, 0.8);
    EXPECT_EQ(r.stats.tokens_evaluated, 10);  // 4 + 4 + 2 tokens sent
    EXPECT_EQ(r.stats.rows, 5);

    std::ifstream in(path);
    std::vector<json> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
    ASSERT_EQ(lines.size(), 5u);
    EXPECT_EQ(lines[0]["seq"], 0);
    EXPECT_EQ(lines[0]["token"], 2);
    EXPECT_EQ(lines[2]["seq"], 2);
    EXPECT_EQ(lines[2]["token"], 6);
    EXPECT_EQ(lines[2]["predicted"], 7);
    EXPECT_EQ(lines[4]["seq"], 3);
    std::filesystem::remove(path);
}

TEST(VerifyRemote, ServerErrorNamesTheSequenceAndKeepsTheSequencesBeforeIt) {
    LocalServer s;
    std::atomic<int> hits{0};
    serve_fake_vllm(s, hits);
    const auto seqs = seqs_of({{{1}, {2}}, {{2}, {3}}, {{9}, {4}}, {{3}, {5}}});
    std::vector<size_t> written;
    try {
        verify_sequences_remote(vllm_at(s), kVocab, seqs, quick(1), nullptr, {},
                                [&](size_t i, std::span<const TokenMetrics>) { written.push_back(i); });
        FAIL() << "expected RemoteError";
    } catch (const HttpError &e) {
        const std::string m = e.what();
        EXPECT_EQ(e.status(), 500);
        EXPECT_NE(m.find("reference (sequence 2): POST " + s.url("/v1/completions") + ": HTTP 500"),
                  std::string::npos)
            << m;
        EXPECT_NE(m.find("engine crashed"), std::string::npos) << m;
        EXPECT_NE(m.find("gave up after 2 attempts"), std::string::npos) << m;
    }
    EXPECT_EQ(written, (std::vector<size_t>{0, 1}));
    EXPECT_EQ(hits.load(), 4);  // sequences 0 and 1, then two tries of 2; 3 is never asked
}

TEST(VerifyRemote, MalformedAnswerNamesTheSequenceAndTheByte) {
    LocalServer s;
    std::atomic<int> hits{0};
    serve_fake_vllm(s, hits);
    const auto seqs = seqs_of({{{1}, {2}}, {{0}, {3}}});
    try {
        verify_sequences_remote(vllm_at(s), kVocab, seqs, quick(1));
        FAIL() << "expected RemoteError";
    } catch (const RemoteError &e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("reference POST " + s.url("/v1/completions") + " (sequence 1)"), std::string::npos)
            << m;
        EXPECT_NE(m.find("truncated"), std::string::npos) << m;
    }
    EXPECT_EQ(hits.load(), 2);  // malformed JSON is not retried
}

TEST(VerifyRemote, RefusedConnectionNamesTheSequence) {
    std::string url;
    {
        LocalServer s;
        url = s.url("/v1");
    }  // closed: nothing listens on the port any more
    const auto seqs = seqs_of({{{1}, {2}}});
    RemoteVerifyOptions o = quick(1);
    o.http.max_attempts = 1;
    try {
        verify_sequences_remote(reference_spec_parse("fireworks=" + url, "m", "", 5), kVocab, seqs, o);
        FAIL() << "expected HttpError";
    } catch (const HttpError &e) {
        EXPECT_EQ(e.status(), 0);
        EXPECT_NE(std::string(e.what()).find("reference (sequence 0): POST " + url + "/completions"),
                  std::string::npos)
            << e.what();
    }
}

TEST(VerifyRemote, TokenOutsideTheVocabularyIsBadInputBeforeAnyRequest) {
    LocalServer s;
    std::atomic<int> hits{0};
    serve_fake_vllm(s, hits);
    const auto seqs = seqs_of({{{1}, {2}}, {{2}, {3, 12}}});
    try {
        verify_sequences_remote(vllm_at(s), kVocab, seqs, quick(1));
        FAIL() << "expected InputError";
    } catch (const InputError &e) {
        EXPECT_NE(std::string(e.what()).find("sequence 1, output position 1: token id 12"), std::string::npos)
            << e.what();
    }
    EXPECT_EQ(hits.load(), 0);
}

TEST(ReferenceSpec, ParseAndProvenance) {
    EXPECT_EQ(reference_spec_parse("local", "m", "", 5).kind, ReferenceSpec::Kind::local);
    EXPECT_EQ(reference_spec_parse("local", "m", "", 5).to_json(), R"({"kind":"local"})");
    const ReferenceSpec v = reference_spec_parse("vllm=http://user:pw@h:8000/v1//", "org/m", "", 3);
    EXPECT_EQ(v.kind, ReferenceSpec::Kind::remote);
    EXPECT_EQ(v.wire, LogprobWire::vllm_prompt_logprobs);
    EXPECT_EQ(v.endpoint.base_url, "http://user:pw@h:8000/v1");
    EXPECT_EQ(v.endpoint.api_key_env, "");
    EXPECT_EQ(
        v.to_json(),
        R"({"kind":"topk","k":3,"wire":"vllm_prompt_logprobs","url":"http://h:8000/v1","model":"org/m"})");
    const ReferenceSpec f =
        reference_spec_parse("fireworks=https://api.fireworks.ai/inference/v1", "acc/m", "", 5);
    EXPECT_EQ(f.wire, LogprobWire::fireworks_echo);
    EXPECT_EQ(f.endpoint.api_key_env, "FIREWORKS_API_KEY");
    EXPECT_EQ(reference_spec_parse("fireworks=http://h/v1", "m", "MY_KEY", 5).endpoint.api_key_env, "MY_KEY");
    auto error = [](const std::string &spec, int32_t k) {
        try {
            reference_spec_parse(spec, "m", "", k, "--cross-reference");
        } catch (const InputError &e) {
            return std::string(e.what());
        }
        return std::string();
    };
    EXPECT_EQ(error("openai=http://h/v1", 5),
              "--cross-reference 'openai=http://h/v1': expected local, fireworks=URL or vllm=URL");
    EXPECT_EQ(error("vllm=h:8000/v1", 5),
              "--cross-reference 'vllm=h:8000/v1': the URL must start with http:// or https://");
    EXPECT_EQ(error("vllm=http://h/v1", 0), "--reference-topk must be at least 1 (got 0)");
}

}  // namespace
}  // namespace difr
