// difr serve's request logic (ReferenceService, no sockets) on the tiny model: both wire formats, their
// numbers against the scorer's own log-softmax, input errors naming field and position, and concurrent
// requests giving the serial answers.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "difr/metrics.h"
#include "difr/scorer.h"
#include "difr/server.h"
#include "difr/topk.h"
#include "tiny_model.h"

namespace difr {
namespace {

using json = nlohmann::ordered_json;  // keeps key order: vLLM puts the actual token first

class ServerTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        std::string tmpl = std::filesystem::temp_directory_path().string() + "/difr-server-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
        test::tiny_model_write(dir_ + "/tiny.gguf", test::TinyModelSpec{});
        settings_.n_threads = 1;
        settings_.n_batch = 32;
        model_ = Model::load(dir_ + "/tiny.gguf", settings_).release();
        service_ = new ReferenceService(*model_, settings_, "tiny", 20);
    }
    static void TearDownTestSuite() {
        delete service_;
        delete model_;
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    static std::vector<int32_t> prompt_make(int32_t n, uint32_t seed) {
        std::mt19937 rng(seed);
        std::vector<int32_t> p = {test::kTinyBos};
        while ((int32_t)p.size() < n) p.push_back(test::kTinyFirstByte + (int32_t)(rng() % 400u));
        return p;
    }
    // log_softmax(l)[y] for every position of `prompt` from `split` on, through an independent Scorer run
    // with `split` prompt tokens: what `difr verify` computes for those outputs.
    static std::vector<float> verify_logprobs(const std::vector<int32_t> &prompt, size_t split) {
        TokenSequence s;
        s.prompt_token_ids.assign(prompt.begin(), prompt.begin() + (long)split);
        s.output_token_ids.assign(prompt.begin() + (long)split, prompt.end());
        Scorer scorer(*model_, settings_);
        MetricsScratch scratch;
        std::vector<float> out;
        scorer.score(std::span<const TokenSequence>(&s, 1), [&](size_t, int32_t j, std::span<const float> l) {
            out.push_back(
                token_metrics_compute(l, s.output_token_ids[(size_t)j], SamplingParams{}, nullptr, scratch)
                    .logprob);
        });
        return out;
    }
    static json post(const json &req, int expect_status = 200) {
        const HttpReply r = service_->completions(req.dump());
        EXPECT_EQ(r.status, expect_status) << r.body;
        return json::parse(r.body);
    }

    static inline std::string dir_;
    static inline EngineSettings settings_;
    static inline Model *model_ = nullptr;
    static inline ReferenceService *service_ = nullptr;
};

TEST_F(ServerTest, EchoRowsMatchTheScorersLogprobs) {
    const std::vector<int32_t> prompt = prompt_make(24, 1);
    const json r = post({{"model", "tiny"},
                         {"prompt", prompt},
                         {"max_tokens", 1},
                         {"echo", true},
                         {"logprobs", true},
                         {"top_logprobs", 5}});
    EXPECT_EQ(r["object"], "text_completion");
    EXPECT_EQ(r["model"], "tiny");
    EXPECT_EQ(r["usage"]["prompt_tokens"], 24);
    EXPECT_EQ(r["usage"]["total_tokens"], 25);
    const json &choice = r["choices"][0];
    EXPECT_EQ(choice["finish_reason"], "length");
    const json &rows = choice["logprobs"]["content"];
    ASSERT_EQ(rows.size(), 25u);
    EXPECT_TRUE(rows[0]["logprob"].is_null());
    EXPECT_TRUE(rows[0]["top_logprobs"].empty());
    const std::vector<float> want = verify_logprobs(prompt, 7);
    ASSERT_EQ(want.size(), 17u);
    for (size_t i = 1; i < 24; ++i) {
        EXPECT_EQ(rows[i]["token_id"], prompt[i]);
        const json &top = rows[i]["top_logprobs"];
        ASSERT_EQ(top.size(), 5u);
        for (size_t r2 = 1; r2 < 5; ++r2)
            EXPECT_GE(top[r2 - 1]["logprob"].get<double>(), top[r2]["logprob"].get<double>());
        if (i >= 7) {  // same numbers as the verifier, to the bit (the %.9g text round-trips a float)
            EXPECT_EQ(rows[i]["logprob"].get<float>(), want[i - 7]) << "position " << i;
        }
    }
    // The generated row: the argmax of the last distribution, top-1 of its own top_logprobs.
    const json &gen = rows[24];
    EXPECT_EQ(gen["token_id"], gen["top_logprobs"][0]["token_id"]);
    EXPECT_EQ(gen["logprob"], gen["top_logprobs"][0]["logprob"]);
    std::string text;
    for (int32_t t : prompt) text += model_->token_piece(t);
    text += model_->token_piece(gen["token_id"].get<int32_t>());
    // Byte tokens alone are not UTF-8: the JSON carries U+FFFD for them, as for any invalid sequence.
    EXPECT_EQ(choice["text"].dump(), json(text).dump(-1, ' ', false, json::error_handler_t::replace));
}

TEST_F(ServerTest, PromptLogprobsInVllmShape) {
    const std::vector<int32_t> prompt = prompt_make(16, 2);
    const json r = post({{"prompt", prompt}, {"max_tokens", 1}, {"prompt_logprobs", 3}});
    const json &choice = r["choices"][0];
    EXPECT_TRUE(choice["logprobs"].is_null());
    const json &plp = choice["prompt_logprobs"];
    ASSERT_EQ(plp.size(), 16u);
    EXPECT_TRUE(plp[0].is_null());
    const std::vector<float> want = verify_logprobs(prompt, 1);
    for (size_t i = 1; i < 16; ++i) {
        const json &d = plp[i];
        ASSERT_TRUE(d.size() == 3 || d.size() == 4) << d.dump();
        const std::string key = std::to_string(prompt[i]);
        ASSERT_TRUE(d.contains(key)) << "position " << i;
        EXPECT_EQ(d.begin().key(), key);  // the actual token first, as vLLM builds the dict
        EXPECT_EQ(d[key]["logprob"].get<float>(), want[i - 1]);
        const int rank = d[key]["rank"];
        EXPECT_GE(rank, 1);
        EXPECT_EQ(d.size() == 3, rank <= 3) << "an actual token inside the top 3 is one of its entries";
        std::vector<int> ranks;
        for (const auto &[id, e] : d.items()) ranks.push_back(e["rank"]);
        std::sort(ranks.begin(), ranks.end());
        std::vector<int> want_ranks =
            d.size() == 4 ? std::vector<int>{1, 2, 3, rank} : std::vector<int>{1, 2, 3};
        std::sort(want_ranks.begin(), want_ranks.end());
        EXPECT_EQ(ranks, want_ranks);
    }
}

TEST_F(ServerTest, BadRequestsNameTheFieldAndPosition) {
    auto error_of = [](const std::string &body) {
        const HttpReply r = service_->completions(body);
        EXPECT_EQ(r.status, 400) << body;
        const json e = json::parse(r.body);
        EXPECT_EQ(e["error"]["type"], "invalid_request_error");
        return e["error"]["message"].get<std::string>();
    };
    EXPECT_NE(error_of("{\"prompt\": [1, 2,").find("not valid JSON"), std::string::npos);
    EXPECT_NE(error_of(R"({"prompt": [1, 5, 9, 512]})")
                  .find("prompt[3]: token id 512 is outside the model's vocabulary [0, 512)"),
              std::string::npos);
    EXPECT_NE(error_of(R"({"prompt": [1, -4]})").find("prompt[1]: token id -4"), std::string::npos);
    EXPECT_NE(
        error_of(R"({"prompt": [1, "x"]})").find("prompt[1]: expected a token id (integer), got string"),
        std::string::npos);
    EXPECT_NE(
        error_of(R"({"prompt": [1, 2.5]})").find("prompt[1]: expected a token id (integer), got number"),
        std::string::npos);
    EXPECT_NE(error_of(R"({"prompt": "hello"})").find("not text"), std::string::npos);
    EXPECT_NE(error_of(R"({"prompt": []})").find("prompt: empty"), std::string::npos);
    EXPECT_NE(error_of(R"({"max_tokens": 1})").find("prompt: required"), std::string::npos);
    EXPECT_NE(error_of(R"({"prompt": [1], "max_tokens": 4})").find("max_tokens"), std::string::npos);
    EXPECT_NE(error_of(R"({"prompt": [1], "logprobs": true, "top_logprobs": 21})")
                  .find("top_logprobs: 21 is outside [0, 20]"),
              std::string::npos);
    EXPECT_NE(
        error_of(R"({"prompt": [1], "prompt_logprobs": "3"})").find("prompt_logprobs: expected an integer"),
        std::string::npos);
    EXPECT_NE(error_of(R"({"prompt": [1], "echo": 1})").find("echo: expected true or false"),
              std::string::npos);
    EXPECT_NE(error_of(R"([1, 2])").find("must be a JSON object"), std::string::npos);
    const json too_long = {{"prompt", std::vector<int32_t>(257, 5)}};
    EXPECT_NE(error_of(too_long.dump()).find("prompt: 257 tokens exceed the context of 256 tokens"),
              std::string::npos);
    // The longest prompt that fits is served.
    post({{"prompt", std::vector<int32_t>(256, 5)}, {"prompt_logprobs", 0}});
}

TEST_F(ServerTest, ConcurrentRequestsGiveTheSerialAnswers) {
    std::vector<json> reqs;
    for (uint32_t i = 0; i < 6; ++i)
        reqs.push_back({{"prompt", prompt_make(10 + 7 * (int32_t)i, 10 + i)},
                        {"echo", true},
                        {"logprobs", true},
                        {"top_logprobs", 4},
                        {"prompt_logprobs", 2}});
    auto strip = [](std::string body) {
        json j = json::parse(body);
        j.erase("id");
        j.erase("created");
        return j.dump();
    };
    std::vector<std::string> serial, parallel(reqs.size());
    for (const json &r : reqs) serial.push_back(strip(service_->completions(r.dump()).body));
    std::vector<std::thread> threads;
    for (size_t i = 0; i < reqs.size(); ++i)
        threads.emplace_back([&, i] { parallel[i] = strip(service_->completions(reqs[i].dump()).body); });
    for (auto &t : threads) t.join();
    for (size_t i = 0; i < reqs.size(); ++i) EXPECT_EQ(parallel[i], serial[i]) << "request " << i;
}

// A request that needs more engine time than the limit is stopped inside its decode and answered 413 (not
// 503: the same request would take as long again); the next request is answered as if nothing happened.
TEST_F(ServerTest, EngineTimeIsBounded) {
    const json req = {{"prompt", prompt_make(200, 3)}, {"prompt_logprobs", 1}};
    const std::string before = service_->completions(req.dump()).body;
    service_->limits_set({60.0, 1e-9});
    const HttpReply r = service_->completions(req.dump());
    service_->limits_set({});
    EXPECT_EQ(r.status, 413);
    const json e = json::parse(r.body);
    EXPECT_EQ(e["error"]["param"], "prompt");
    EXPECT_NE(
        e["error"]["message"].get<std::string>().find("s of engine time (difr serve --engine-timeout) for "
                                                      "its 200 tokens and was stopped"),
        std::string::npos)
        << r.body;
    json a = json::parse(before), b = json::parse(service_->completions(req.dump()).body);
    for (json *j : {&a, &b}) j->erase("id"), j->erase("created");
    EXPECT_EQ(a, b);
}

// The engine's turnstile: first come, first served; a waiter whose deadline passes gives its place up and the
// ones behind it are served in order.
TEST(EngineGate, FirstComeFirstServedAndBoundedWaits) {
    using Clock = std::chrono::steady_clock;
    EngineGate gate;
    ASSERT_TRUE(gate.acquire(Clock::now()));  // free: taken at once, whatever the deadline
    EXPECT_FALSE(gate.acquire(Clock::now() + std::chrono::milliseconds(20)));  // held: gives up
    std::vector<int> order;
    std::mutex mu;
    std::vector<std::thread> ts;
    for (int i = 0; i < 4; ++i) {
        ts.emplace_back([&, i] {
            ASSERT_TRUE(gate.acquire(Clock::now() + std::chrono::seconds(60)));
            {
                std::lock_guard<std::mutex> lock(mu);
                order.push_back(i);
            }
            gate.release();
        });
        // Each waiter takes its ticket before the next one starts.
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    gate.release();
    for (auto &t : ts) t.join();
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
    EXPECT_TRUE(gate.acquire(Clock::now()));  // the abandoned ticket did not block anyone
    gate.release();
}

// The prover endpoints take their engine turns at the reference's gate (serve_http shares it): while another
// request holds the engine, a prover request that may not wait gets 503, and one that may gets its answer.
// A number beyond double's range is a 400 like any malformed JSON. The tiny model's tokens are bytes that are
// not whole UTF-8 characters: the answer writes them as U+FFFD rather than failing to serialise (it threw
// nlohmann's type_error 316 out of the service until this test).
TEST_F(ServerTest, ProverSharesTheEngineGateAndRefusesBadJson) {
    ProverService prover(*model_, settings_, "tiny", 20);
    const std::string body = R"({"prompt": [1, 5, 9], "max_tokens": 2, "seed": 3})";
    HttpReply r = prover.completions(R"({"prompt": [1], "temperature": 1e999})");
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(r.body.find("the body is not valid JSON: [json.exception.out_of_range.406]"), std::string::npos)
        << r.body;

    EngineGate &gate = service_->gate();
    ASSERT_TRUE(gate.acquire(std::chrono::steady_clock::now()));  // another request holds the engine
    EngineLimits no_wait;
    no_wait.wait_s = 0.0;
    prover.gate_share(gate, no_wait);
    r = prover.completions(body);
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_NE(r.body.find("the engine is busy"), std::string::npos) << r.body;
    gate.release();
    r = prover.completions(body);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(json::parse(r.body)["usage"]["completion_tokens"], 2) << r.body;
}

TEST_F(ServerTest, ModelsAndHealth) {
    const json m = json::parse(service_->models().body);
    EXPECT_EQ(m["data"][0]["id"], "tiny");
    EXPECT_EQ(m["data"][0]["max_model_len"], 256);
    EXPECT_EQ(json::parse(service_->health().body)["status"], "ok");
}

}  // namespace
}  // namespace difr
