// Engine integration tests on a tiny random llama model that the tests write themselves (tiny_model.h):
// loading and tokenisation, batched scoring against one-at-a-time scoring, row delivery and statistics,
// input errors, seeded generation and its verification, and requantisation.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "../../src/engine/quant_gemm.h"
#include "difr/error.h"
#include "difr/generator.h"
#include "difr/model.h"
#include "difr/quantize.h"
#include "difr/scorer.h"
#include "difr/verify.h"
#include "tiny_model.h"

namespace difr {
namespace {

using test::kTinyBos;
using test::kTinyEos;
using test::kTinyFirstByte;
using Rows = std::vector<std::vector<std::vector<float>>>;  // [sequence][output position][token id]

// Batch invariance. difr's defaults (llama.cpp built without llamafile's sgemm, one KV stream per sequence,
// flash attention off) compute every row's logits the same way whatever the batch: batched and
// one-at-a-time scoring agree bit for bit (measured max |diff| 0 on the F16 and the F32 KV cache).
// Flash attention on the CPU breaks that: it accumulates softmax * V in f16 in cache-cell order, and ubatches
// of >= 64 query rows take a tiled f32 kernel instead. Measured max |diff| 1e-2 to 2e-2 (n_batch 32 or 512,
// several sequence sets, and with a unified KV cache or llamafile's sgemm before they were turned off);
// 5e-2 is 2% of the logits' standard deviation. An argmax may then only change where the top two logits lie
// within twice the tolerance (a near-tie).
constexpr float kExactPathTolerance = 0.0f;
constexpr float kDefaultPathTolerance = 5e-2f;  // the flash-attention path

EngineSettings settings_make(int32_t n_seq_max, int32_t n_batch) {
    EngineSettings s;
    // Fixed, as the thread split is one of the things that may change logits. One thread: the model is tiny,
    // and ggml's spinning thread barriers make two threads crawl on a loaded two-core machine.
    s.n_threads = 1;
    s.n_seq_max = n_seq_max;
    s.n_batch = n_batch;
    return s;
}

TokenSequence sequence_make(std::mt19937 &rng, int32_t n_vocab, int32_t n_prompt, int32_t n_output) {
    // mt19937's raw output is fixed by the standard (its distributions are not): the same ids everywhere.
    auto tok = [&] { return kTinyFirstByte + (int32_t)(rng() % (uint32_t)(n_vocab - kTinyFirstByte)); };
    TokenSequence s;
    for (int32_t k = 0; k < n_prompt; ++k) s.prompt_token_ids.push_back(k == 0 ? kTinyBos : tok());
    for (int32_t k = 0; k < n_output; ++k) s.output_token_ids.push_back(tok());
    return s;
}

int32_t argmax(const std::vector<float> &row) {
    return (int32_t)(std::max_element(row.begin(), row.end()) - row.begin());
}

float top2_gap(const std::vector<float> &row) {
    std::vector<float> r = row;
    std::partial_sort(r.begin(), r.begin() + 2, r.end(), std::greater<float>());
    return r[0] - r[1];
}

Rows rows_collect(Scorer &scorer, std::span<const TokenSequence> seqs, ScoreStats *stats = nullptr) {
    Rows rows(seqs.size());
    ScoreStats st = scorer.score(seqs, [&](size_t seq, int32_t j, std::span<const float> logits) {
        EXPECT_EQ((size_t)j, rows[seq].size()) << "sequence " << seq << ": rows out of order";
        rows[seq].emplace_back(logits.begin(), logits.end());
    });
    if (stats) *stats = st;
    return rows;
}

class EngineTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        std::string tmpl = std::filesystem::temp_directory_path().string() + "/difr-engine-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
        model_path_ = dir_ + "/tiny-f32.gguf";
        test::tiny_model_write(model_path_, spec_);
        model_ = Model::load(model_path_, settings_make(4, 32)).release();
    }
    static void TearDownTestSuite() {
        delete model_;
        model_ = nullptr;
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }

    static inline test::TinyModelSpec spec_;
    static inline std::string dir_;
    static inline std::string model_path_;
    static inline Model *model_ = nullptr;
};

// --- 1. loading and tokenisation ---------------------------------------------------------------------------

TEST_F(EngineTest, TinyModelLoadsWithItsShape) {
    ASSERT_NE(model_, nullptr);
    EXPECT_EQ(model_->n_vocab(), spec_.n_vocab);
    EXPECT_EQ(model_->n_ctx_train(), spec_.n_ctx_train);
    EXPECT_NE(model_->description().find("llama"), std::string::npos) << model_->description();
    EXPECT_TRUE(model_->is_eog(kTinyEos));
    EXPECT_FALSE(model_->is_eog(kTinyBos));
    EXPECT_FALSE(model_->is_eog(kTinyFirstByte + 'a'));
}

TEST_F(EngineTest, TokenizeDetokenizeRoundTrips) {
    const std::vector<std::string> texts = {
        "hello world",         "the model is a test", "h\xC3\xA9llo w\xC3\xB6rld \xE2\x9C\x93",
        "tabs\tand\nnewlines", "123 !? {}",           "verify the batch score"};
    for (const std::string &text : texts) {
        const std::vector<int32_t> ids = model_->tokenize(text, false, false);
        ASSERT_FALSE(ids.empty()) << text;
        for (int32_t id : ids) EXPECT_TRUE(id >= 0 && id < model_->n_vocab()) << text;
        EXPECT_EQ(model_->detokenize(ids), text);
    }
    // The beginning-of-sequence token is added on request.
    EXPECT_EQ(model_->tokenize("hello", true, false).front(), kTinyBos);
    // Characters outside the pieces fall back to their UTF-8 bytes: "▁" then <0xC3> <0xA9> for "é".
    const std::vector<std::string> vocab = test::tiny_model_vocab(spec_.n_vocab);
    const int32_t space = (int32_t)(std::find(vocab.begin(), vocab.end(), "\xE2\x96\x81") - vocab.begin());
    EXPECT_EQ(model_->tokenize("\xC3\xA9", false, false),
              (std::vector<int32_t>{space, kTinyFirstByte + 0xC3, kTinyFirstByte + 0xA9}));
    // A whole word that is a piece merges into one token.
    const int32_t hello =
        (int32_t)(std::find(vocab.begin(), vocab.end(), "\xE2\x96\x81hello") - vocab.begin());
    EXPECT_EQ(model_->tokenize("hello", false, false), (std::vector<int32_t>{hello}));
}

// --- 2. batched scoring equals one-at-a-time scoring -------------------------------------------------------

// Prompt and output lengths: prompts and outputs longer than n_batch (32), a one-token prompt, a one-token
// output, more sequences than slots so that slots are reused.
const std::pair<int32_t, int32_t> kShapes[] = {{5, 10}, {40, 3}, {1, 50}, {20, 25}, {3, 1}, {60, 30}};

std::vector<TokenSequence> sequences_make(int32_t n_vocab, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<TokenSequence> seqs;
    for (const auto &[p, o] : kShapes) seqs.push_back(sequence_make(rng, n_vocab, p, o));
    return seqs;
}

struct BatchComparison {
    float max_diff = 0.0f;  // max |batched - single| over every logit of every row
    float min_gap = INFINITY;
    double std_dev = 0.0;  // of the single-run logits
    int64_t logits = 0, near_ties = 0, argmax_changes = 0;
    size_t distinct_argmaxes = 0;
};

// Scores `seqs` all at once (4 slots, 32 tokens per decode call) and each alone (1 slot), and compares every
// row. Every row's argmax must agree unless its top-2 gap is within 2 * tolerance.
BatchComparison batch_compare(const Model &model, EngineSettings settings,
                              std::span<const TokenSequence> seqs, float tolerance) {
    settings.n_batch = 32;
    settings.n_seq_max = 4;
    Scorer batched(model, settings);
    ScoreStats st;
    const Rows together = rows_collect(batched, seqs, &st);
    EXPECT_GT(st.decode_calls, 1);
    EXPECT_GT(st.slot_moves, 0) << "the shapes were meant to leave gaps among the slots at the end";
    settings.n_seq_max = 1;
    Scorer single(model, settings);
    Rows alone(seqs.size());
    for (size_t i = 0; i < seqs.size(); ++i) alone[i] = rows_collect(single, seqs.subspan(i, 1))[0];

    BatchComparison c;
    double sum = 0.0, sum_sq = 0.0;
    std::set<int32_t> argmaxes;
    for (size_t i = 0; i < seqs.size(); ++i) {
        EXPECT_EQ(together[i].size(), seqs[i].output_token_ids.size());
        EXPECT_EQ(alone[i].size(), seqs[i].output_token_ids.size());
        for (size_t j = 0; j < alone[i].size() && j < together[i].size(); ++j) {
            const std::vector<float> &a = together[i][j], &b = alone[i][j];
            for (size_t v = 0; v < a.size(); ++v) {
                c.max_diff = std::max(c.max_diff, std::fabs(a[v] - b[v]));
                sum += b[v];
                sum_sq += (double)b[v] * b[v];
                ++c.logits;
            }
            const float gap = top2_gap(b);
            c.min_gap = std::min(c.min_gap, gap);
            argmaxes.insert(argmax(b));
            c.argmax_changes += argmax(a) != argmax(b);
            if (gap <= 2 * tolerance)
                ++c.near_ties;
            else
                EXPECT_EQ(argmax(a), argmax(b))
                    << "sequence " << i << ", position " << j << ", top-2 gap " << gap;
        }
    }
    const double mean = sum / (double)c.logits;
    c.std_dev = std::sqrt(sum_sq / (double)c.logits - mean * mean);
    c.distinct_argmaxes = argmaxes.size();
    std::printf(
        "[ measured ] batched vs single (kv %s, flash attention %s): max |diff| %.3g over %lld logits "
        "(std %.3f), tolerance %.3g; min top-2 gap %.3g, %lld near-ties, %lld argmax changes, "
        "%zu distinct argmaxes\n",
        settings.kv_type.c_str(), settings.flash_attn.c_str(), c.max_diff, (long long)c.logits, c.std_dev,
        tolerance, c.min_gap, (long long)c.near_ties, (long long)c.argmax_changes, c.distinct_argmaxes);
    EXPECT_LE(c.max_diff, tolerance);
    // The model is not degenerate: the logits spread and the prediction changes with the context.
    EXPECT_GT(c.std_dev, 0.5);
    EXPECT_GT(c.distinct_argmaxes, 20u);
    return c;
}

TEST_F(EngineTest, BatchedScoringEqualsOneAtATimeOnTheF32Path) {
    const std::vector<TokenSequence> seqs = sequences_make(model_->n_vocab(), 1);
    EngineSettings s = settings_make(4, 32);
    s.kv_type = "f32";
    s.flash_attn = "off";
    const BatchComparison c = batch_compare(*model_, s, seqs, kExactPathTolerance);
    EXPECT_EQ(c.argmax_changes, 0);
}

TEST_F(EngineTest, BatchedScoringIsBitExactWithDefaultSettings) {
    const std::vector<TokenSequence> seqs = sequences_make(model_->n_vocab(), 1);
    const BatchComparison c = batch_compare(*model_, settings_make(4, 32), seqs, kExactPathTolerance);
    EXPECT_EQ(c.argmax_changes, 0);
}

TEST_F(EngineTest, BatchedScoringStaysWithinToleranceWithFlashAttention) {
    const std::vector<TokenSequence> seqs = sequences_make(model_->n_vocab(), 1);
    EngineSettings s = settings_make(4, 32);
    s.flash_attn = "on";
    const BatchComparison c = batch_compare(*model_, s, seqs, kDefaultPathTolerance);
    // The argmax check above has teeth: most rows are no near-tie (measured 17 of 119; random logits of this
    // spread put about one top-2 gap in eight below 0.1).
    EXPECT_LE(c.near_ties * 4, (int64_t)(c.logits / model_->n_vocab()));
}

TEST_F(EngineTest, ScoringIsRepeatableOnOneScorer) {
    const std::vector<TokenSequence> seqs = sequences_make(model_->n_vocab(), 2);
    Scorer scorer(*model_, settings_make(4, 32));
    const Rows first = rows_collect(scorer, seqs);
    const Rows second = rows_collect(scorer, seqs);  // the context and its cache are reused
    EXPECT_EQ(first, second);
}

TEST_F(EngineTest, ScorerGrowsItsContextForLongerSequences) {
    const std::vector<TokenSequence> seqs = sequences_make(model_->n_vocab(), 2);
    Scorer grown(*model_, settings_make(4, 32));
    rows_collect(grown, std::span(seqs).subspan(4, 1));  // 3 + 1 tokens: the smallest context
    const int32_t small = grown.n_ctx();
    const Rows after = rows_collect(grown, seqs);  // 60 + 30 tokens in 4 slots: a new, larger context
    EXPECT_GT(grown.n_ctx(), small);
    Scorer fresh(*model_, settings_make(4, 32));
    EXPECT_EQ(after, rows_collect(fresh, seqs));
}

// --- 3. rows, callbacks and statistics ---------------------------------------------------------------------

TEST_F(EngineTest, RowsArriveOncePerOutputInOrder) {
    std::mt19937 rng(3);
    const int32_t n_vocab = model_->n_vocab();
    std::vector<TokenSequence> seqs = {
        sequence_make(rng, n_vocab, 7, 12),  sequence_make(rng, n_vocab, 9, 0),
        sequence_make(rng, n_vocab, 35, 40), sequence_make(rng, n_vocab, 2, 1),
        sequence_make(rng, n_vocab, 0, 0),   sequence_make(rng, n_vocab, 50, 5),
        sequence_make(rng, n_vocab, 4, 33)};
    int64_t want_tokens = 0, want_rows = 0;
    for (const TokenSequence &s : seqs) {
        if (s.output_token_ids.empty()) continue;
        want_tokens += (int64_t)(s.prompt_token_ids.size() + s.output_token_ids.size()) - 1;
        want_rows += (int64_t)s.output_token_ids.size();
    }

    Scorer scorer(*model_, settings_make(3, 32));
    std::vector<int32_t> next(seqs.size(), 0);
    std::vector<int> done(seqs.size(), 0);
    const ScoreStats st = scorer.score(
        seqs,
        [&](size_t seq, int32_t j, std::span<const float> logits) {
            ASSERT_LT(seq, seqs.size());
            EXPECT_EQ(done[seq], 0) << "row after on_done for sequence " << seq;
            EXPECT_EQ(j, next[seq]) << "sequence " << seq;
            EXPECT_EQ(logits.size(), (size_t)n_vocab);
            next[seq] = j + 1;
        },
        [&](size_t seq) { ++done[seq]; });

    for (size_t i = 0; i < seqs.size(); ++i) {
        EXPECT_EQ(next[i], (int32_t)seqs[i].output_token_ids.size()) << "sequence " << i;
        EXPECT_EQ(done[i], 1) << "sequence " << i;
    }
    EXPECT_EQ(st.tokens_evaluated, want_tokens);
    EXPECT_EQ(st.rows, want_rows);
    // At most n_batch tokens per decode call.
    EXPECT_GE(st.decode_calls, (int32_t)((want_tokens + 31) / 32));
}

TEST_F(EngineTest, NothingToScoreStillCallsOnDone) {
    const std::vector<TokenSequence> seqs = {{{kTinyBos, 10}, {}}, {{}, {}}};
    Scorer scorer(*model_, settings_make(4, 32));
    std::vector<size_t> done;
    const ScoreStats st = scorer.score(
        seqs, [&](size_t, int32_t, std::span<const float>) { ADD_FAILURE() << "no row expected"; },
        [&](size_t seq) { done.push_back(seq); });
    EXPECT_EQ(done, (std::vector<size_t>{0, 1}));
    EXPECT_EQ(st.rows, 0);
    EXPECT_EQ(st.tokens_evaluated, 0);
    EXPECT_EQ(st.decode_calls, 0);
}

// --- 4. input errors ---------------------------------------------------------------------------------------

std::string score_error(const Model &model, const EngineSettings &settings,
                        const std::vector<TokenSequence> &seqs) {
    Scorer scorer(model, settings);
    int64_t rows = 0;
    try {
        scorer.score(seqs, [&](size_t, int32_t, std::span<const float>) { ++rows; });
    } catch (const InputError &e) {
        EXPECT_EQ(rows, 0) << "the check must come before any decoding";
        return e.what();
    }
    ADD_FAILURE() << "no InputError";
    return "";
}

TEST_F(EngineTest, TokenOutsideTheVocabularyNamesSequenceAndPosition) {
    std::mt19937 rng(4);
    const int32_t n_vocab = model_->n_vocab();
    std::vector<TokenSequence> seqs = {sequence_make(rng, n_vocab, 4, 4), sequence_make(rng, n_vocab, 4, 4),
                                       sequence_make(rng, n_vocab, 4, 6)};
    seqs[2].output_token_ids[3] = n_vocab;
    std::string msg = score_error(*model_, settings_make(4, 32), seqs);
    EXPECT_NE(msg.find("sequence 2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("output position 3"), std::string::npos) << msg;
    EXPECT_NE(msg.find(std::to_string(n_vocab)), std::string::npos) << msg;

    seqs[2].output_token_ids[3] = 5;
    seqs[1].prompt_token_ids[2] = -1;
    msg = score_error(*model_, settings_make(4, 32), seqs);
    EXPECT_NE(msg.find("sequence 1"), std::string::npos) << msg;
    EXPECT_NE(msg.find("prompt position 2"), std::string::npos) << msg;
}

TEST_F(EngineTest, SequenceLongerThanTheContextNamesTheSequence) {
    std::mt19937 rng(5);
    const int32_t n_vocab = model_->n_vocab();
    EngineSettings s = settings_make(4, 32);
    s.n_ctx = 48;
    // 30 + 19 tokens feed 48 positions: fits. 30 + 20 feed 49: does not.
    std::vector<TokenSequence> seqs = {sequence_make(rng, n_vocab, 30, 19),
                                       sequence_make(rng, n_vocab, 30, 20)};
    const std::string msg = score_error(*model_, s, seqs);
    EXPECT_NE(msg.find("sequence 1"), std::string::npos) << msg;
    EXPECT_NE(msg.find("context of 48"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("sequence 0"), std::string::npos) << msg;

    seqs.pop_back();
    Scorer scorer(*model_, s);
    EXPECT_EQ(scorer.score(seqs, [](size_t, int32_t, std::span<const float>) {}).rows, 19);
}

TEST_F(EngineTest, EmptyPromptWithOutputsIsAnInputError) {
    const std::vector<TokenSequence> seqs = {{{kTinyBos}, {10}}, {{}, {10, 11}}};
    const std::string msg = score_error(*model_, settings_make(4, 32), seqs);
    EXPECT_NE(msg.find("sequence 1"), std::string::npos) << msg;
    EXPECT_NE(msg.find("prompt is empty"), std::string::npos) << msg;
}

// --- 5. generation -----------------------------------------------------------------------------------------

std::vector<std::vector<int32_t>> prompts_make(int32_t n_vocab) {
    std::mt19937 rng(6);
    std::vector<std::vector<int32_t>> prompts;
    for (int32_t p : {3, 17, 1, 40, 8}) prompts.push_back(sequence_make(rng, n_vocab, p, 0).prompt_token_ids);
    return prompts;
}

GenerateOptions options_make(float temperature, uint64_t seed) {
    GenerateOptions o;
    o.sampling.temperature = temperature;
    o.sampling.seed = seed;
    o.max_tokens = 24;
    return o;
}

// Generation is batch-invariant with the default settings: a prompt decoded together with others yields the
// very same tokens as decoded alone.
void expect_same_tokens(const Model &, const std::vector<int32_t> &, const std::vector<int32_t> &a,
                        const std::vector<int32_t> &b, size_t index) {
    EXPECT_EQ(a, b) << "prompt " << index;
}

TEST_F(EngineTest, GreedyGenerationTogetherEqualsAlone) {
    const auto prompts = prompts_make(model_->n_vocab());
    const GenerateOptions o = options_make(0.0f, 0);
    GenerateStats st;
    const std::vector<TokenSequence> together = generate(*model_, settings_make(4, 32), prompts, o, &st);
    ASSERT_EQ(together.size(), prompts.size());
    int64_t generated = 0;
    std::set<int32_t> distinct;
    for (size_t i = 0; i < prompts.size(); ++i) {
        const std::vector<TokenSequence> alone = generate(*model_, settings_make(1, 32), {prompts[i]}, o);
        EXPECT_EQ(together[i].prompt_token_ids, prompts[i]);
        expect_same_tokens(*model_, prompts[i], together[i].output_token_ids, alone[0].output_token_ids, i);
        const std::vector<int32_t> &out = together[i].output_token_ids;
        EXPECT_TRUE(out.size() == (size_t)o.max_tokens || (!out.empty() && model_->is_eog(out.back())));
        generated += (int64_t)out.size();
        distinct.insert(out.begin(), out.end());
    }
    EXPECT_EQ(st.generated_tokens, generated);
    EXPECT_GT(distinct.size(), 5u) << "greedy outputs should not be one repeated token";
}

// Once no prompt is left, sequences that end free slots below busy ones; the busy ones move down (their KV
// streams copied, cells in place) and must still give the very tokens they give alone.
TEST_F(EngineTest, SequencesMovedToLowerSlotsGenerateAsAlone) {
    std::mt19937 rng(11);
    std::vector<std::vector<int32_t>> prompts;
    for (int32_t p : {60, 2, 90, 30, 1, 45})
        prompts.push_back(sequence_make(rng, model_->n_vocab(), p, 0).prompt_token_ids);
    for (float t : {0.0f, 1.0f}) {
        const GenerateOptions o = options_make(t, 3);
        GenerateStats st;
        const std::vector<TokenSequence> together = generate(*model_, settings_make(4, 16), prompts, o, &st);
        EXPECT_GT(st.slot_moves, 0) << "T=" << t << ": the prompts were meant to leave gaps";
        for (size_t i = 0; i < prompts.size(); ++i) {
            const std::vector<TokenSequence> alone = generate(*model_, settings_make(1, 16), {prompts[i]}, o);
            EXPECT_EQ(together[i].output_token_ids, alone[0].output_token_ids)
                << "T=" << t << ", prompt " << i;
        }
    }
}

TEST_F(EngineTest, SeededSamplingIsReproducible) {
    const auto prompts = prompts_make(model_->n_vocab());
    const EngineSettings s = settings_make(4, 32);
    const std::vector<TokenSequence> a = generate(*model_, s, prompts, options_make(1.0f, 7));
    const std::vector<TokenSequence> b = generate(*model_, s, prompts, options_make(1.0f, 7));
    const std::vector<TokenSequence> c = generate(*model_, s, prompts, options_make(1.0f, 8));
    size_t differ = 0;
    for (size_t i = 0; i < prompts.size(); ++i) {
        EXPECT_EQ(a[i].output_token_ids, b[i].output_token_ids) << "prompt " << i;
        differ += a[i].output_token_ids != c[i].output_token_ids;
    }
    EXPECT_GT(differ, 0u) << "a different seed should change at least one output";
}

TEST_F(EngineTest, GeneratedSequencesVerifyExactly) {
    const auto prompts = prompts_make(model_->n_vocab());
    const EngineSettings s = settings_make(4, 32);
    for (float t : {0.0f, 1.0f}) {
        const GenerateOptions o = options_make(t, 7);
        const std::vector<TokenSequence> seqs = generate(*model_, s, prompts, o);
        VerifyOptions vo;
        vo.sampling = o.sampling;
        vo.noise = o.noise;
        const VerifyResult r = verify_sequences(*model_, s, seqs, vo);
        std::printf("[ measured ] verify T=%.0f: %lld tokens, exact_match_rate %.4f, avg_margin %.3g\n", t,
                    (long long)r.summary.total_tokens, r.summary.exact_match_rate, r.summary.avg_margin);
        EXPECT_EQ(r.summary.n_sequences, (int64_t)prompts.size());
        EXPECT_DOUBLE_EQ(r.summary.exact_match_rate, 1.0) << "T=" << t;
        EXPECT_EQ(r.summary.infinite_margin_rate, 0.0);
    }
}

TEST_F(EngineTest, GenerationInputErrors) {
    const GenerateOptions o = options_make(0.0f, 0);
    const EngineSettings s = settings_make(4, 32);
    EXPECT_THROW(generate(*model_, s, {{kTinyBos, 5}, {}}, o), InputError);
    EXPECT_THROW(generate(*model_, s, {{kTinyBos, model_->n_vocab()}}, o), InputError);
    // 240 prompt tokens + 24 new ones do not fit the 256-token training context.
    std::mt19937 rng(10);
    const std::vector<int32_t> long_prompt = sequence_make(rng, model_->n_vocab(), 240, 0).prompt_token_ids;
    try {
        generate(*model_, s, {{kTinyBos, 5}, long_prompt}, o);
        ADD_FAILURE() << "no InputError";
    } catch (const InputError &e) {
        EXPECT_NE(std::string(e.what()).find("prompt 1"), std::string::npos) << e.what();
    }
}

// --- 5b. difr's matrix kernels
// ------------------------------------------------------------------------------

// difr's kernels compute the products of Q4_1 and Q8_0 weights inside llama.cpp's graph (graph_rewrite.cpp).
// They must leave every logit as ggml's kernels compute it, and keep scoring batch-invariant.
TEST_F(EngineTest, DifrKernelsGiveGgmlsLogitsBitForBit) {
    if (!quant_gemm_supports(GGML_TYPE_Q4_1))
        GTEST_SKIP() << "this build has no difr kernels (not x86-64-v3)";
    const std::vector<TokenSequence> seqs = sequences_make(model_->n_vocab(), 3);
    for (const char *type : {"Q4_1", "Q8_0"}) {
        const std::string path = dir_ + "/tiny-kernels-" + type + ".gguf";
        quantize_model(model_path_, path, type, 1);
        const std::unique_ptr<Model> m = Model::load(path, settings_make(4, 32));
        EngineSettings difr_s = settings_make(4, 32), ggml_s = difr_s;
        ggml_s.kernels = "ggml";
        Scorer with_difr(*m, difr_s), with_ggml(*m, ggml_s);
        const int64_t before = quant_gemm_nodes_computed();
        const Rows a = rows_collect(with_difr, seqs);
        const int64_t difr_nodes = quant_gemm_nodes_computed() - before;
        const Rows b = rows_collect(with_ggml, seqs);
        // Every layer's projections and the output layer (7 products per layer, 2 layers, 1 output) per
        // decode.
        EXPECT_GE(difr_nodes, 15) << type;
        EXPECT_EQ(quant_gemm_nodes_computed() - before, difr_nodes) << type << ": --kernels ggml used difr's";
        int64_t logits = 0, differing = 0;
        for (size_t i = 0; i < seqs.size(); ++i) {
            ASSERT_EQ(a[i].size(), b[i].size());
            for (size_t j = 0; j < a[i].size(); ++j) {
                logits += (int64_t)a[i][j].size();
                differing += std::memcmp(a[i][j].data(), b[i][j].data(), a[i][j].size() * sizeof(float)) != 0;
            }
        }
        std::printf("[ measured ] %s: %lld product nodes by difr's kernels; %lld logits, %lld rows differ\n",
                    type, (long long)difr_nodes, (long long)logits, (long long)differing);
        EXPECT_EQ(differing, 0) << type;
        EXPECT_EQ(logits, 119 * m->n_vocab()) << type;  // every output position of kShapes
    }
}

TEST_F(EngineTest, DifrKernelsKeepScoringBatchInvariant) {
    if (!quant_gemm_supports(GGML_TYPE_Q4_1))
        GTEST_SKIP() << "this build has no difr kernels (not x86-64-v3)";
    const std::string path = dir_ + "/tiny-invariant-q4_1.gguf";
    quantize_model(model_path_, path, "Q4_1", 1);
    const std::unique_ptr<Model> m = Model::load(path, settings_make(4, 32));
    const std::vector<TokenSequence> seqs = sequences_make(m->n_vocab(), 4);
    const BatchComparison c = batch_compare(*m, settings_make(4, 32), seqs, kExactPathTolerance);
    EXPECT_EQ(c.argmax_changes, 0);
}

TEST_F(EngineTest, UnknownKernelsAreAnInputError) {
    EngineSettings s = settings_make(4, 32);
    s.kernels = "fast";
    Scorer scorer(*model_, s);
    const std::vector<TokenSequence> seqs = sequences_make(model_->n_vocab(), 5);
    EXPECT_THROW(rows_collect(scorer, seqs), InputError);
}

// K-quant weights (Gemma-3-270M's Q4_K_M). ggml's repacked Q4_K kernels compute groups of four tokens with a
// gemm and the rest with a gemv, and its tiled K-quant product takes over from 8 tokens; both sum differently
// from the one-token path. difr's defaults (repacking off, the tiled product switched off) keep every logit
// the same whatever the batch; repacking on does not.
float max_abs_diff(const Rows &a, const Rows &b) {
    float d = 0.0f;
    for (size_t i = 0; i < a.size(); ++i)
        for (size_t j = 0; j < a[i].size(); ++j)
            for (size_t v = 0; v < a[i][j].size(); ++v) d = std::max(d, std::fabs(a[i][j][v] - b[i][j][v]));
    return d;
}

TEST_F(EngineTest, KQuantScoringIsBatchInvariantWithRepackingOff) {
    test::TinyModelSpec spec;  // rows of 256: what K-quants need
    spec.n_embd = 256;
    spec.n_ff = 512;
    spec.out_std = 0.15f;
    const std::string f32_path = dir_ + "/tiny-256.gguf", kq_path = dir_ + "/tiny-256-q4_k_m.gguf";
    test::tiny_model_write(f32_path, spec);
    quantize_model(f32_path, kq_path, "Q4_K_M", 1);
    const std::vector<TokenSequence> seqs = sequences_make(spec.n_vocab, 6);
    for (bool repack : {false, true}) {
        EngineSettings s = settings_make(4, 32);
        s.repack = repack;
        const std::unique_ptr<Model> m = Model::load(kq_path, s);
        const std::vector<std::string> &buffers = m->weight_buffers();
        const bool repacked = std::find(buffers.begin(), buffers.end(), "CPU_REPACK") != buffers.end();
        EXPECT_EQ(repacked, repack);
        Scorer batched(*m, s);
        EngineSettings one = s;  // token by token: every product has one row
        one.n_batch = 1;
        one.n_seq_max = 1;
        Scorer single(*m, one);
        const float d = max_abs_diff(rows_collect(batched, seqs), rows_collect(single, seqs));
        std::printf("[ measured ] Q4_K_M, repacking %s: batched vs token by token max |diff| %.3g\n",
                    repack ? "on" : "off", d);
        if (repack)
            EXPECT_GT(d, 0.0f) << "repacked Q4_K was expected to depend on the batch (the test's teeth)";
        else
            EXPECT_EQ(d, 0.0f);
    }
}

// --- 6. requantisation -------------------------------------------------------------------------------------

TEST_F(EngineTest, Q8RequantisationKeepsMostArgmaxes) {
    const std::string q8_path = dir_ + "/tiny-q8_0.gguf";
    quantize_model(model_path_, q8_path, "Q8_0", 1);
    ASSERT_TRUE(std::filesystem::is_regular_file(q8_path));
    EXPECT_LT(std::filesystem::file_size(q8_path), std::filesystem::file_size(model_path_) / 2);
    const std::unique_ptr<Model> q8 = Model::load(q8_path, settings_make(4, 32));
    EXPECT_EQ(q8->n_vocab(), model_->n_vocab());
    EXPECT_NE(q8->description().find("Q8_0"), std::string::npos) << q8->description();

    const std::vector<TokenSequence> seqs = sequences_make(model_->n_vocab(), 9);
    Scorer ref_scorer(*model_, settings_make(4, 32)), q8_scorer(*q8, settings_make(4, 32));
    const Rows ref = rows_collect(ref_scorer, seqs), quant = rows_collect(q8_scorer, seqs);
    float max_diff = 0.0f;
    int64_t rows = 0, same = 0;
    for (size_t i = 0; i < seqs.size(); ++i)
        for (size_t j = 0; j < ref[i].size(); ++j) {
            for (size_t v = 0; v < ref[i][j].size(); ++v)
                max_diff = std::max(max_diff, std::fabs(ref[i][j][v] - quant[i][j][v]));
            same += argmax(ref[i][j]) == argmax(quant[i][j]);
            ++rows;
        }
    const double agree = (double)same / (double)rows;
    std::printf("[ measured ] Q8_0 vs F32: max |diff| %.3g, argmax agreement %lld/%lld (%.3f)\n", max_diff,
                (long long)same, (long long)rows, agree);
    // Q8_0 rounds each weight to within 1/254 of its block's largest magnitude: a deviation well beyond the
    // batch variation of the same settings (measured 0.47 against 1e-2)...
    EXPECT_GT(max_diff, 2 * kDefaultPathTolerance);
    // ...yet small beside logits of standard deviation ~2.5: measured 116 of 119 argmaxes kept (97.5%).
    EXPECT_LT(max_diff, 1.0f);
    EXPECT_GE(agree, 0.9);
}

TEST_F(EngineTest, QuantiseRejectsAnUnknownType) {
    EXPECT_THROW(quantize_model(model_path_, dir_ + "/x.gguf", "Q9_9"), InputError);
    EXPECT_FALSE(std::filesystem::exists(dir_ + "/x.gguf"));
}

}  // namespace
}  // namespace difr
