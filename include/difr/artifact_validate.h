// The validator of inference artifacts (`difr validate`, docs/artifacts.md): the reference re-scores exactly
// the artifact's tokens, and four checks decide per sequence - Gonka's production similarity (and the seed
// document's distance2), the joint probability of the tokens, the seed proof's replay, and Token-DiFR on the
// same tokens. Each check says what it decided, its statistic, the threshold and where the threshold came
// from.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "difr/artifact.h"
#include "difr/http.h"
#include "difr/metrics.h"
#include "difr/model.h"
#include "difr/reference.h"

namespace difr {

struct ValidateOptions {
    double gonka_threshold = 0.98;
    std::string gonka_threshold_source = "preset mainnet (genesis.json Model.ValidationThreshold)";
    std::optional<double> joint_threshold;  // minimum mean log P(t_i | prefix) per token
    std::string joint_threshold_source;
    std::optional<double> difr_threshold;  // minimum Token-DiFR exact-match rate
    std::string difr_threshold_source;
    double mae_threshold = 0.25;  // PR #1448 Stage2MAEFraudThreshold (a placeholder there, not enforcing)
    std::string noise = "vllm";   // Token-DiFR's noise profile, by name
    bool token_difr = true;
};

// What the reference said about one sequence, position by position.
struct ReferenceRows {
    std::vector<GonkaPosition>
        validator;                       // its logprobs at the prover's top-k ids (as Gonka's enforced_tokens
                                         // replay returns them), tokens spelled as the artifact spells them
    std::vector<double> chosen_logprob;  // log P(t_i | prompt, t_<i), raw (T = 1)
    std::vector<TokenMetrics> difr;      // Token-DiFR metrics; empty when not run
    std::string difr_note;               // why Token-DiFR did not run
    bool at_prover_ids = true;           // false: `validator` lists the reference's own top-k (remote)
};

// Scores every sequence of `a` (resolved to ids) with the local engine: one pass for the logprobs, one
// through verify_sequences for Token-DiFR (the artifact's sampling and seed, `options.noise`). `prompts[i]`
// are sequence i's prompt tokens.
std::vector<ReferenceRows> artifact_reference_score(Model &model, const EngineSettings &settings,
                                                    const Artifact &a,
                                                    const std::vector<std::vector<int32_t>> &prompts,
                                                    const ValidateOptions &options);

// The same rows from a remote prompt-logprob reference (`--reference fireworks=URL|vllm=URL`,
// difr/reference.h), one request per sequence: the validator's list is the reference's own top-k (what
// Gonka's launch code compared, before enforced_tokens returned logprobs at the prover's ids), spelled as the
// artifact spells its tokens; the chosen token's logprob where it is in that top-k (NaN elsewhere, and the
// joint probability is then not decided); Token-DiFR from the top-k rows as `difr verify --reference`
// computes it. `vocab` is the claimed model (its vocabulary only). Throws RemoteError naming the endpoint and
// the sequence.
std::vector<ReferenceRows> artifact_reference_score_remote(const ReferenceSpec &ref, const Model &vocab,
                                                           const Artifact &a,
                                                           const std::vector<std::vector<int32_t>> &prompts,
                                                           const ValidateOptions &options,
                                                           const HttpOptions &http);

enum class SeedVerdict { honest, fraud, inconclusive };
const char *seed_verdict_name(SeedVerdict v);

struct SeedCheck {
    SeedVerdict verdict = SeedVerdict::inconclusive;
    int64_t first_mismatch = -1;  // position
    size_t n_checked = 0;
    std::string reason;
};

// The sequence check of the artifact's seed proof over its first `n` positions, from the artifact alone:
// uniform (j = below(k) per position from the run seed, chosen == top[j]) or weighted (contract v1.0.0
// draw from the position's top-k logprobs, chosen == the draw). Inconclusive without a proof, at
// temperature 0, with unbounded support (no top_k and no min_p, as detsample.VerifySequence), or when
// tokens are not ids.
SeedCheck seed_check(const Artifact &a, size_t seq, size_t n);

struct SequenceChecks {
    size_t n = 0;
    GonkaComparison gonka;
    Distance2 distance2;
    double mean_logprob = 0.0, perplexity = 0.0;
    double mae = 0.0;  // PR #1448 MAEDistance over the prover's support
    SeedCheck seed;
    bool difr_run = false;
    double exact_match_rate = 0.0, avg_margin = 0.0;
};

// All checks of sequence `seq` over its first `n` positions (n <= the sequence's length). `ref` may be null
// (offline: only the seed check).
SequenceChecks artifact_checks(const Artifact &a, size_t seq, const ReferenceRows *ref, size_t n);

// Gonka's offline comparison: the executor's artifact `a` against the validator's `b`, sequence by sequence
// (tokens compared as the artifacts spell them). InputError when they hold different numbers of sequences.
std::vector<GonkaComparison> artifact_compare(const Artifact &a, const Artifact &b);

// Sets the Gonka threshold and its source from a preset name (mainnet, pr132, testnet); InputError naming the
// preset otherwise.
void validate_options_preset(ValidateOptions &options, const std::string &preset);

// The whole of `difr validate` against a reference, local (the engine) or remote: the artifact's prompts are
// tokenised with `model` where it gives text, its tokens resolved to ids, every sequence scored and checked;
// returns the report JSON (artifact_report_json with the reference's provenance). For a remote reference
// `model` may be loaded vocab-only.
std::string artifact_validate(Artifact a, Model &model, const EngineSettings &settings,
                              const ReferenceSpec &ref, const ValidateOptions &options,
                              const HttpOptions &http);
// Offline, as Gonka's validator compares responses: the executor's artifact `a` against the validator's `b`;
// no model.
std::string artifact_validate_against(const Artifact &a, const Artifact &b, const ValidateOptions &options);

// The JSON report of `difr validate` (docs/artifacts.md): per sequence and pooled, every check with its
// decision, statistic, threshold and threshold source. `against` is set for the offline comparison.
std::string artifact_report_json(const Artifact &a, std::span<const SequenceChecks> checks,
                                 const ValidateOptions &options, const std::string &reference_json,
                                 const Artifact *against = nullptr);

}  // namespace difr
