// Inference artifacts (docs/artifacts.md): what a prover publishes for each generated sequence - the chosen
// token and the top-k tokens with their logprobs at every position - plus the sampling it claims and the
// seed of its proof. Read from difr's own artifact JSON or from an OpenAI chat/completions response as a
// Gonka-style network stores it; written as difr's JSON.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "difr/gonka.h"
#include "difr/model.h"

namespace difr {

inline constexpr const char *kArtifactFormat = "difr-artifact-1";

struct ArtifactTop {
    int32_t id = -1;    // -1 until resolved (text tokens need the model's vocabulary)
    std::string token;  // as the artifact spells it (text, or the id in decimal)
    double logprob = 0.0;
};

struct ArtifactPosition {
    int32_t id = -1;
    std::string token;
    double logprob = std::numeric_limits<double>::quiet_NaN();  // the chosen token's; NaN when not given
    std::vector<ArtifactTop> top;
};

// How the prover's draw can be replayed (docs/artifacts.md "Seed proofs").
enum class SeedProofKind { none, uniform, weighted };
const char *seed_proof_name(SeedProofKind k);

struct ArtifactSequence {
    std::string id;  // canonical lowercase UUID (the uniform run seed) and inference id (the weighted seed)
    std::vector<int32_t> prompt_token_ids;   // empty when the artifact carries only messages or text
    std::vector<ChatMessage> messages;       // an OpenAI chat request's messages
    std::optional<std::string> prompt_text;  // an OpenAI completions request's text prompt
    std::vector<ArtifactPosition> positions;
};

struct ArtifactSampling {
    double temperature = 1.0;  // OpenAI's default when a request names none
    int32_t top_k = 0;         // 0: off
    double top_p = 1.0;
    double min_p = 0.0;
    std::optional<int64_t> seed;
};

struct Artifact {
    std::string path;    // for messages
    std::string source;  // "difr" or "openai"
    std::string model;   // what the prover says it ran
    int32_t k = 0;       // top-k per position (the same at every position)
    ArtifactSampling sampling;
    SeedProofKind proof = SeedProofKind::none;
    std::string seed_encoding;  // uniform: "sha256(be_i64(user_seed)||uuid)"; weighted: the contract version
    std::vector<ArtifactSequence> sequences;
};

// Reads an artifact file: difr's JSON ({"format": "difr-artifact-1", ...}), an OpenAI chat or text
// completion response, {"request": ..., "response": ...} (the request supplies prompt, sampling and seed),
// a streamed response {"events": ["data: {...}", ...]}, or a JSON array of responses or request/response
// pairs (one sequence each). Throws InputError naming the file, sequence and position for: bad JSON, missing
// logprobs or top_logprobs, a k that differs between positions, a NaN or infinite logprob, a logprob above
// 0, an id that is not an integer, or a seed / seed encoding / sequence id of the wrong form.
Artifact artifact_read(const std::string &path);

// Resolves every token to an id: ids given as integers (`token_id`) or as decimal strings (vLLM's
// return_token_ids, or "token_id:N") are range-checked; text tokens are looked up in the model's vocabulary
// (each id's piece). A text token that maps to no id or to several is an InputError naming the file,
// sequence and position; so is an id outside the vocabulary or more positions than the context holds.
void artifact_resolve(Artifact &a, const Model &model, int32_t n_ctx);

// The prompt's token ids of sequence i: given ids, or the messages rendered with the model's chat template,
// or the text tokenised. InputError when the artifact carries no prompt.
std::vector<int32_t> artifact_prompt_tokens(const Artifact &a, size_t i, const Model &model);

// Gonka's view of a sequence: tokens spelled as the artifact spells them.
std::vector<GonkaPosition> artifact_gonka_positions(const ArtifactSequence &s);

// difr's artifact JSON, written whole (atomically).
std::string artifact_to_json(const Artifact &a);
void artifact_write(const std::string &path, const Artifact &a);

// A fresh random UUID (version 4), lowercase: a sequence id.
std::string artifact_new_uuid();

}  // namespace difr
