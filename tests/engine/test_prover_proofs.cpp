// Activation proofs from difr serve's prover (ProverService, no sockets) on the tiny model: a completion that
// asks for fingerprints and TOPLOC returns the proofs of exactly the rows that sampled its tokens (the same
// bytes as the command line's prover over the same generation), a replay of those tokens returns the same
// proofs, the saved response checks at distance 0 against the reference's batched prefill while a Q4_0
// server's does not, and bad proof fields are 400s naming the field before any engine work.
// The tiny model's byte tokens split UTF-8 characters, so every 200 here also checks that such pieces are
// spelled (U+FFFD) rather than failing the response.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "difr/fingerprint_proofs.h"
#include "difr/generator.h"
#include "difr/quantize.h"
#include "difr/scorer.h"
#include "difr/server.h"
#include "tiny_model.h"

namespace difr {
namespace {

using json = nlohmann::ordered_json;

EngineSettings settings_of(int32_t n_seq_max, int32_t n_batch) {
    EngineSettings s;
    s.n_threads = 1;
    s.n_seq_max = n_seq_max;
    s.n_batch = n_batch;
    return s;
}

class ProverProofsTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        std::string tmpl = std::filesystem::temp_directory_path().string() + "/difr-prover-proofs-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
        test::tiny_model_write(dir_ + "/tiny.gguf", test::TinyModelSpec{});
        model_ = Model::load(dir_ + "/tiny.gguf", settings_of(1, 32)).release();
        prover_ = new ProverService(*model_, settings_of(1, 32), "tiny", 20);
    }
    static void TearDownTestSuite() {
        delete prover_;
        delete model_;
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    static json post(ProverService &service, const json &req, int expect_status = 200) {
        const HttpReply r = service.completions(req.dump());
        EXPECT_EQ(r.status, expect_status) << r.body;
        return json::parse(r.body);
    }
    // A token-id prompt, and the request that asks for both proofs: 30 tokens in TOPLOC chunks of 8.
    static std::vector<int32_t> prompt() {
        std::vector<int32_t> p = {test::kTinyBos};
        for (int32_t i = 0; i < 11; ++i) p.push_back(test::kTinyFirstByte + 37 * i % 400);
        return p;
    }
    static json request() {
        return {{"prompt", prompt()},
                {"max_tokens", 30},
                {"temperature", 1.0},
                {"seed", 11},
                {"fingerprint", {{"k", 8}, {"seed", 5}}},
                {"toploc", {{"topk", 16}, {"decode_batching_size", 8}}}};
    }
    // What a client does with a response: the tokens and the proofs file, checked with the reference's own
    // hidden states from a batched prefill (other batch settings than the prover's).
    struct Checked {
        FingerprintStats fingerprints;
        ToplocStats toploc;
    };
    static Checked verify(const json &proofs, const std::string &name) {
        const std::string path = dir_ + "/" + name + ".jsonl";
        std::ofstream(path) << proofs["header"].dump() << "\n" << proofs["sequence"].dump() << "\n";
        const ActivationProofsFile file = activation_proofs_read(path);
        TokenSequence seq;
        seq.prompt_token_ids = proofs["tokens"]["prompt_token_ids"].get<std::vector<int32_t>>();
        seq.output_token_ids = proofs["tokens"]["output_token_ids"].get<std::vector<int32_t>>();
        const int64_t n = (int64_t)seq.output_token_ids.size();
        ActivationChecker checker(file, std::span<const int64_t>(&n, 1), model_->n_embd());
        Scorer scorer(*model_, settings_of(4, 7));
        scorer.score(
            std::span<const TokenSequence>(&seq, 1), [](size_t, int32_t, std::span<const float>) {}, {},
            [&](size_t s, int32_t j, std::span<const float> h) { checker.add(s, j, h); });
        return {checker.fingerprint_stats(), checker.toploc_stats()};
    }

    static inline std::string dir_;
    static inline Model *model_ = nullptr;
    static inline ProverService *prover_ = nullptr;
};

TEST_F(ProverProofsTest, ProofsAreThoseOfTheRowsThatSampledTheTokens) {
    const json r = post(*prover_, request());
    ASSERT_TRUE(r["difr"].contains("activation_proofs")) << r.dump();
    const json &p = r["difr"]["activation_proofs"];
    const std::vector<int32_t> out = p["tokens"]["output_token_ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(p["tokens"]["prompt_token_ids"].get<std::vector<int32_t>>(), prompt());
    ASSERT_FALSE(out.empty());
    ASSERT_LE(out.size(), 30u);
    EXPECT_EQ(r["usage"]["completion_tokens"], out.size());

    // The command line's prover over the same generation (difr generate --fingerprint 8 --toploc): the same
    // tokens and, byte for byte, the same header and sequence line.
    const ActivationProofSpec spec = activation_proof_request_parse(json::parse(request().dump()), 64);
    ActivationProver cli(spec, model_->n_embd());
    GenerateOptions g;
    g.sampling.temperature = 1.0f;
    g.sampling.seed = 11;
    g.max_tokens = 30;
    g.on_hidden = [&](size_t s, int32_t j, std::span<const float> h) { cli.add(s, j, h); };
    const std::vector<TokenSequence> gen = generate(*model_, settings_of(2, 16), {prompt()}, g);
    EXPECT_EQ(gen[0].output_token_ids, out);
    const SequenceProofs expected = cli.finish(0);
    EXPECT_EQ(p["sequence"].dump(), activation_proofs_line_json(0, expected).dump());
    EXPECT_EQ(p["header"].dump(),
              activation_proofs_header_json(model_->description(), model_->n_embd(), spec).dump());
    EXPECT_EQ(p["sequence"]["tokens"], out.size());
    EXPECT_EQ(p["sequence"]["toploc"].size(), (out.size() + 7) / 8);

    // The byte cost: 2k per token, 2 + 2k per chunk, and the line as sent.
    const int64_t n = (int64_t)out.size(), chunks = (n + 7) / 8;
    EXPECT_EQ(p["bytes"]["fingerprint"], n * 16);
    EXPECT_EQ(p["bytes"]["toploc"], chunks * 34);
    EXPECT_EQ(p["bytes"]["total"], n * 16 + chunks * 34);
    EXPECT_DOUBLE_EQ(p["bytes"]["per_token"].get<double>(), double(n * 16 + chunks * 34) / double(n));
    EXPECT_EQ(p["bytes"]["line"], p["sequence"].dump().size());

    // Saved and checked against the reference: the same hidden states, bit for bit.
    const Checked c = verify(p, "honest");
    EXPECT_EQ(c.fingerprints.tokens, n);
    EXPECT_EQ(c.fingerprints.max, 0.0);
    EXPECT_EQ(c.fingerprints.zero_rate, 1.0);
    EXPECT_EQ(c.toploc.chunks, chunks);
    EXPECT_EQ(c.toploc.passed, chunks);
    EXPECT_EQ(c.toploc.max_exp_mismatches, 0);
    EXPECT_EQ(c.toploc.max_mant_err_mean, 0.0);
}

TEST_F(ProverProofsTest, AReplayProvesTheSameRows) {
    // enforced_tokens: the rows that score the forced tokens are the rows that sampled them.
    const json gen = post(*prover_, request());
    const json &p = gen["difr"]["activation_proofs"];
    json replay = request();
    replay["enforced_tokens"]["tokens"] = json::array();
    for (int32_t id : p["tokens"]["output_token_ids"])
        replay["enforced_tokens"]["tokens"].push_back({{"token", id}});
    const json r = post(*prover_, replay);
    EXPECT_TRUE(r["difr"]["enforced"].get<bool>());
    EXPECT_EQ(r["difr"]["activation_proofs"]["sequence"].dump(), p["sequence"].dump());
    EXPECT_EQ(r["difr"]["activation_proofs"]["tokens"], p["tokens"]);
}

TEST_F(ProverProofsTest, ARequantisedProverIsCaught) {
    // The same request to a prover running the model requantised to Q4_0: its proofs, checked against the F32
    // reference, move in every token and fail TOPLOC.
    quantize_model(dir_ + "/tiny.gguf", dir_ + "/tiny-q4_0.gguf", "Q4_0", 1);
    auto q = Model::load(dir_ + "/tiny-q4_0.gguf", settings_of(1, 32));
    ProverService impostor(*q, settings_of(1, 32), "tiny", 20);
    const json r = post(impostor, request());
    const Checked c = verify(r["difr"]["activation_proofs"], "q4_0");
    EXPECT_GT(c.fingerprints.tokens, 0);
    EXPECT_EQ(c.fingerprints.zero_rate, 0.0);
    EXPECT_GT(c.fingerprints.median, 0.0);
    EXPECT_GT(c.toploc.chunks, 0);
    EXPECT_LT(c.toploc.passed, c.toploc.chunks);
}

TEST_F(ProverProofsTest, WithoutProofsTheResponseIsUnchanged) {
    json req = request();
    req.erase("fingerprint");
    req.erase("toploc");
    const json plain = post(*prover_, req);
    EXPECT_FALSE(plain["difr"].contains("activation_proofs"));
    req["fingerprint"] = nullptr;
    req["toploc"] = false;
    EXPECT_FALSE(post(*prover_, req)["difr"].contains("activation_proofs"));
    // The proofs change nothing else: the same tokens with and without them.
    json with = post(*prover_, request());
    EXPECT_EQ(with["choices"][0]["text"], plain["choices"][0]["text"]);
}

TEST_F(ProverProofsTest, BadProofFieldsAre400sNamingTheField) {
    struct Case {
        json fingerprint, toploc;
        const char *param, *message;
    };
    const Case cases[] = {
        {1, nullptr, "fingerprint", "fingerprint: 1 is outside [2, 128]"},
        {"8", nullptr, "fingerprint", "fingerprint: expected k (an integer) or an object"},
        {{{"k", 8}, {"dtype", "f32"}},
         nullptr,
         "fingerprint",
         "fingerprint.dtype: fingerprint dtype must be f16"},
        {{{"k", 65}},
         nullptr,
         "fingerprint",
         "fingerprint.k: 65 orthonormal directions do not fit the hidden size 64"},
        {nullptr, true, "toploc", "toploc.topk: 128 is more than the hidden size 64"},
        {nullptr,
         {{"topk", 16}, {"decode_batching_size", 0}},
         "toploc",
         "toploc.decode_batching_size: 0 is outside"},
        {nullptr,
         {{"topk", 16}, {"skip_prefill", false}},
         "toploc",
         "toploc.skip_prefill: false is not offered"},
    };
    for (const Case &c : cases) {
        json req = request();
        req["fingerprint"] = c.fingerprint;
        req["toploc"] = c.toploc;
        const HttpReply r = prover_->completions(req.dump());
        EXPECT_EQ(r.status, 400) << req.dump();
        const json e = json::parse(r.body)["error"];
        EXPECT_EQ(e["param"], c.param) << r.body;
        EXPECT_EQ(e["type"], "invalid_request_error");
        EXPECT_NE(e["message"].get<std::string>().find(c.message), std::string::npos) << r.body;
    }
    // The chat endpoint parses them the same way.
    json chat = {{"messages", json::array({{{"role", "user"}, {"content", "hi"}}})},
                 {"toploc", {{"topk", 0}}}};
    const HttpReply r = prover_->chat_completions(chat.dump());
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(json::parse(r.body)["error"]["message"], "toploc.topk: 0 is outside [1, 64]") << r.body;
}

}  // namespace
}  // namespace difr
