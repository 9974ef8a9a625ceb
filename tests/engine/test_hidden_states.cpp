// Hidden-state capture (issue #13) on a tiny model the test writes itself: the final hidden state of each
// scored or sampled row, batched scoring against one-at-a-time scoring and against generation bit for bit,
// logits unchanged by the capture, and the activation proofs (fingerprints and TOPLOC) end to end: an honest
// generation verifies exactly, a requantised model does not, and the files round-trip with strict errors.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "difr/error.h"
#include "difr/fingerprint_proofs.h"
#include "difr/generator.h"
#include "difr/halfprec.h"
#include "difr/model.h"
#include "difr/npz.h"
#include "difr/quantize.h"
#include "difr/scorer.h"
#include "tiny_model.h"

namespace difr {
namespace {

using Hidden = std::vector<std::vector<std::vector<float>>>;  // [sequence][output position][n_embd]

EngineSettings settings_of(int32_t n_seq_max, int32_t n_batch) {
    EngineSettings s;
    s.n_threads = 1;
    s.n_seq_max = n_seq_max;
    s.n_batch = n_batch;
    return s;
}

std::vector<TokenSequence> sequences(int32_t n_vocab) {
    std::mt19937 rng(5);
    auto tok = [&] {
        return test::kTinyFirstByte + (int32_t)(rng() % (uint32_t)(n_vocab - test::kTinyFirstByte));
    };
    // Prompts and outputs longer than the 32-token batch, a one-token prompt and output, more sequences than
    // slots.
    const std::pair<int, int> shapes[] = {{5, 10}, {40, 3}, {1, 50}, {20, 25}, {3, 1}, {60, 30}};
    std::vector<TokenSequence> out;
    for (auto [p, o] : shapes) {
        TokenSequence s;
        for (int k = 0; k < p; ++k) s.prompt_token_ids.push_back(k == 0 ? test::kTinyBos : tok());
        for (int k = 0; k < o; ++k) s.output_token_ids.push_back(tok());
        out.push_back(s);
    }
    return out;
}

class HiddenStateTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        std::string tmpl = std::filesystem::temp_directory_path().string() + "/difr-hidden-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
        test::tiny_model_write(dir_ + "/tiny.gguf", spec_);
        model_ = Model::load(dir_ + "/tiny.gguf", settings_of(4, 32)).release();
    }
    static void TearDownTestSuite() {
        delete model_;
        std::filesystem::remove_all(dir_);
    }
    static Hidden capture(Scorer &scorer, std::span<const TokenSequence> seqs,
                          std::vector<std::vector<std::vector<float>>> *logits = nullptr) {
        Hidden h(seqs.size());
        if (logits) logits->assign(seqs.size(), {});
        int32_t expect_row = -1;
        scorer.score(
            seqs,
            [&](size_t seq, int32_t j, std::span<const float> row) {
                EXPECT_EQ(expect_row, j) << "the hidden state comes just before its row's logits";
                if (logits) (*logits)[seq].emplace_back(row.begin(), row.end());
            },
            {},
            [&](size_t seq, int32_t j, std::span<const float> hidden) {
                EXPECT_EQ((size_t)j, h[seq].size());
                EXPECT_EQ(hidden.size(), (size_t)model_->n_embd());
                h[seq].emplace_back(hidden.begin(), hidden.end());
                expect_row = j;
            });
        return h;
    }
    static inline test::TinyModelSpec spec_;
    static inline std::string dir_;
    static inline Model *model_ = nullptr;
};

TEST_F(HiddenStateTest, BatchedCaptureEqualsOneAtATimeBitForBit) {
    const auto seqs = sequences(model_->n_vocab());
    Scorer batched(*model_, settings_of(4, 32));
    const Hidden together = capture(batched, seqs);
    Scorer single(*model_, settings_of(1, 32));
    double norm = 0;
    int64_t values = 0;
    for (size_t i = 0; i < seqs.size(); ++i) {
        const Hidden alone = capture(single, std::span(seqs).subspan(i, 1));
        ASSERT_EQ(together[i].size(), seqs[i].output_token_ids.size());
        ASSERT_EQ(alone[0].size(), together[i].size());
        for (size_t j = 0; j < together[i].size(); ++j) {
            EXPECT_EQ(together[i][j], alone[0][j]) << "sequence " << i << " position " << j;
            for (float v : together[i][j]) norm += double(v) * v, ++values;
        }
    }
    // Not a degenerate vector: RMS-normalised states with unit-scale gains have RMS near 1.
    EXPECT_GT(std::sqrt(norm / double(values)), 0.3);
}

TEST_F(HiddenStateTest, CaptureLeavesTheLogitsUnchanged) {
    // With hidden states on, llama.cpp outputs every row of a batch (prompt rows too); logits must not move.
    const auto seqs = sequences(model_->n_vocab());
    Scorer plain(*model_, settings_of(4, 32));
    std::vector<std::vector<std::vector<float>>> a(seqs.size()), b;
    plain.score(seqs, [&](size_t seq, int32_t, std::span<const float> row) {
        a[seq].emplace_back(row.begin(), row.end());
    });
    Scorer with(*model_, settings_of(4, 32));
    capture(with, seqs, &b);
    EXPECT_EQ(a, b);
}

TEST_F(HiddenStateTest, GenerationSeesTheSameStatesAsScoring) {
    // The prover's states (one token at a time, KV cache) equal the verifier's (batched prefill).
    std::vector<std::vector<int32_t>> prompts;
    for (const auto &s : sequences(model_->n_vocab())) prompts.push_back(s.prompt_token_ids);
    GenerateOptions o;
    o.sampling.temperature = 1.0f;
    o.sampling.seed = 3;
    o.max_tokens = 20;
    Hidden gen(prompts.size());
    o.on_hidden = [&](size_t seq, int32_t j, std::span<const float> h) {
        EXPECT_EQ((size_t)j, gen[seq].size());
        gen[seq].emplace_back(h.begin(), h.end());
    };
    const std::vector<TokenSequence> seqs = generate(*model_, settings_of(4, 32), prompts, o);
    Scorer scorer(*model_, settings_of(3, 16));
    const Hidden scored = capture(scorer, seqs);
    for (size_t i = 0; i < seqs.size(); ++i) {
        ASSERT_EQ(gen[i].size(), seqs[i].output_token_ids.size());
        EXPECT_EQ(gen[i], scored[i]) << "sequence " << i;
    }
}

struct ProofRun {
    ActivationProofsFile file;
    std::vector<TokenSequence> seqs;
};

ProofRun prove(const Model &model, const std::vector<std::vector<int32_t>> &prompts,
               const ActivationProofSpec &spec, const std::string &path) {
    ActivationProver prover(spec, model.n_embd());
    ActivationProofsWriter writer(path, model.description(), model.n_embd(), spec);
    GenerateOptions o;
    o.max_tokens = 40;
    o.stop_at_eog = false;
    o.on_hidden = [&](size_t seq, int32_t j, std::span<const float> h) { prover.add(seq, j, h); };
    ProofRun r;
    r.seqs = generate(model, settings_of(4, 32), prompts, o, nullptr,
                      [&](size_t i, const TokenSequence &) { writer.write(i, prover.finish(i)); });
    r.file = activation_proofs_read(path);
    return r;
}

std::unique_ptr<ActivationChecker> check(const Model &model, const ProofRun &run) {
    std::vector<int64_t> lengths;
    for (const auto &s : run.seqs) lengths.push_back((int64_t)s.output_token_ids.size());
    auto checker = std::make_unique<ActivationChecker>(run.file, lengths, model.n_embd());
    Scorer scorer(model, settings_of(4, 64));
    scorer.score(
        run.seqs, [](size_t, int32_t, std::span<const float>) {}, {},
        [&](size_t seq, int32_t j, std::span<const float> h) { checker->add(seq, j, h); });
    return checker;
}

TEST_F(HiddenStateTest, HonestProofsVerifyExactlyAndARequantisedModelDoesNot) {
    std::vector<std::vector<int32_t>> prompts;
    for (const auto &s : sequences(model_->n_vocab())) prompts.push_back(s.prompt_token_ids);
    ActivationProofSpec spec;
    spec.fingerprint = FingerprintSpec{};
    spec.fingerprint->k = 8;
    spec.toploc = ToplocSpec{16, 8};  // 40 tokens: 5 chunks of 8
    const ProofRun honest = prove(*model_, prompts, spec, dir_ + "/honest.jsonl");
    ASSERT_EQ(honest.file.sequences.size(), prompts.size());
    EXPECT_EQ(honest.file.sequences[0].fingerprint.size(), 40u * 8u);
    EXPECT_EQ(honest.file.sequences[0].toploc.size(), 5u);
    const auto ok = check(*model_, honest);
    const FingerprintStats fs = ok->fingerprint_stats();
    EXPECT_EQ(fs.tokens, 40 * (int64_t)prompts.size());
    EXPECT_EQ(fs.max, 0.0);
    EXPECT_EQ(fs.zero_rate, 1.0);
    const ToplocStats ts = ok->toploc_stats();
    EXPECT_EQ(ts.chunks, 5 * (int64_t)prompts.size());
    EXPECT_EQ(ts.passed, ts.chunks);
    EXPECT_EQ(ts.max_exp_mismatches, 0);

    // The same tokens claimed with a Q8_0 model's activations: every fingerprint moves.
    quantize_model(dir_ + "/tiny.gguf", dir_ + "/tiny-q8.gguf", "Q8_0");
    auto q8 = Model::load(dir_ + "/tiny-q8.gguf", settings_of(4, 32));
    ProofRun cheat = prove(*q8, prompts, spec, dir_ + "/q8.jsonl");
    const auto bad = check(*model_, cheat);
    const FingerprintStats bs = bad->fingerprint_stats();
    std::printf(
        "[ measured ] Q8_0 tiny model: fingerprint L2 median %.4g (relative %.3g), %.1f%% identical; "
        "TOPLOC %lld of %lld chunks pass, max exp mismatches %d, max mant err mean %.3g\n",
        bs.median, bs.mean_relative, 100 * bs.zero_rate, (long long)bad->toploc_stats().passed,
        (long long)bad->toploc_stats().chunks, bad->toploc_stats().max_exp_mismatches,
        bad->toploc_stats().max_mant_err_mean);
    EXPECT_GT(bs.median, 0.0);
    EXPECT_EQ(bs.zero_rate, 0.0);
}

TEST_F(HiddenStateTest, ProofFilesAreCheckedAgainstTheSequences) {
    std::vector<std::vector<int32_t>> prompts = {{test::kTinyBos, 40, 41}, {test::kTinyBos, 50}};
    ActivationProofSpec spec;
    spec.fingerprint = FingerprintSpec{};
    spec.toploc = ToplocSpec{8, 4};
    ProofRun run = prove(*model_, prompts, spec, dir_ + "/small.jsonl");
    std::vector<int64_t> wrong = {40};
    EXPECT_THROW(ActivationChecker(run.file, wrong, model_->n_embd()), InputError);
    wrong = {40, 39};
    try {
        ActivationChecker c(run.file, wrong, model_->n_embd());
        ADD_FAILURE();
    } catch (const InputError &e) {
        EXPECT_NE(std::string(e.what()).find("sequence 1 has proofs for 40 tokens"), std::string::npos)
            << e.what();
    }
    // A tampered line: a proof too few, then a corrupt base64 fingerprint.
    std::ifstream in(dir_ + "/small.jsonl");
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    ASSERT_EQ(lines.size(), 3u);
    auto rewrite = [&](const std::string &line1) {
        std::ofstream out(dir_ + "/bad.jsonl");
        out << lines[0] << "\n" << line1 << "\n" << lines[2] << "\n";
    };
    nlohmann::json l1 = nlohmann::json::parse(lines[1]);
    l1["toploc"].erase(l1["toploc"].begin());
    rewrite(l1.dump());
    try {
        activation_proofs_read(dir_ + "/bad.jsonl");
        ADD_FAILURE();
    } catch (const InputError &e) {
        EXPECT_NE(std::string(e.what()).find("bad.jsonl:2: 9 TOPLOC proofs for 40 tokens"), std::string::npos)
            << e.what();
    }
    l1 = nlohmann::json::parse(lines[1]);
    l1["fingerprint"] = "AAA*";
    rewrite(l1.dump());
    EXPECT_THROW(activation_proofs_read(dir_ + "/bad.jsonl"), InputError);
    // A header whose format is null is not a fingerprints file (it threw nlohmann's type_error; found by
    // fuzz_fingerprint_file).
    {
        std::ofstream out(dir_ + "/bad.jsonl");
        out << R"({"format": null, "toploc": {"topk": 2}})"
            << "\n";
    }
    try {
        activation_proofs_read(dir_ + "/bad.jsonl");
        ADD_FAILURE();
    } catch (const InputError &e) {
        EXPECT_NE(std::string(e.what()).find("bad.jsonl:1: not a fingerprints file"), std::string::npos)
            << e.what();
    }
    // A number beyond double's range is malformed JSON, not an internal error (found by
    // fuzz_fingerprint_file).
    rewrite(R"({"seq": 0, "tokens": 1e999})");
    try {
        activation_proofs_read(dir_ + "/bad.jsonl");
        ADD_FAILURE();
    } catch (const InputError &e) {
        EXPECT_NE(
            std::string(e.what()).find("bad.jsonl:2: malformed JSON: [json.exception.out_of_range.406]"),
            std::string::npos)
            << e.what();
    }
    // A null TOPLOC proof (the package's failure value) is an error at verification, naming the proof.
    l1 = nlohmann::json::parse(lines[1]);
    l1["toploc"][2] = base64_encode(std::vector<uint8_t>(18, 0));
    rewrite(l1.dump());
    ProofRun tampered{activation_proofs_read(dir_ + "/bad.jsonl"), run.seqs};
    try {
        check(*model_, tampered);
        ADD_FAILURE();
    } catch (const InputError &e) {
        EXPECT_NE(std::string(e.what()).find("sequence 0, TOPLOC proof 2: modulus 0: a null proof"),
                  std::string::npos)
            << e.what();
    }
}

TEST_F(HiddenStateTest, NpzRoundTripsActivations) {
    NpyArray a{"a0", "<u2", {2, 3}, {}};
    for (uint16_t v : {1, 2, 3, 4, 5, 0xFFFF})
        a.data.push_back(uint8_t(v)), a.data.push_back(uint8_t(v >> 8));
    NpyArray b{"a1", "<f4", {3}, {}};
    for (float f : {1.0f, -2.5f, 1.00390625f}) {
        uint8_t bytes[4];
        std::memcpy(bytes, &f, 4);
        b.data.insert(b.data.end(), bytes, bytes + 4);
    }
    npz_write(dir_ + "/acts.npz", {b, a});  // out of order in the archive: names decide
    const auto back = npz_read(dir_ + "/acts.npz");
    ASSERT_EQ(back.size(), 2u);
    EXPECT_EQ(back[1].shape, (std::vector<int64_t>{2, 3}));
    const auto acts = npz_activations_bf16(dir_ + "/acts.npz");
    ASSERT_EQ(acts.size(), 2u);
    EXPECT_EQ(acts[0], (std::vector<uint16_t>{1, 2, 3, 4, 5, 0xFFFF}));
    EXPECT_EQ(acts[1],
              (std::vector<uint16_t>{0x3F80, 0xC020, 0x3F80}));  // float32 rounded to bf16, ties even
    NpyArray c{"b0", "<u2", {1}, {0, 0}};
    npz_write(dir_ + "/names.npz", {a, c});
    EXPECT_THROW(npz_activations_bf16(dir_ + "/names.npz"), InputError);
    std::ofstream(dir_ + "/not.npz") << "not a zip";
    EXPECT_THROW(npz_read(dir_ + "/not.npz"), InputError);
    // A 482-byte archive whose entry claims 4 GiB is refused without allocating it (found by fuzz_npz).
    EXPECT_THROW(npz_read(DIFR_SOURCE_DIR "/tests/fuzz/regressions/fuzz_npz/fuzz_npz-claimed-4gib.bin"),
                 InputError);
}

}  // namespace
}  // namespace difr
