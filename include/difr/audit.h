// Provider audits (token-difr's audit_provider): generate through a provider, re-tokenise with the model's
// own vocabulary and chat template, verify the tokens against a reference (the local engine or a remote
// prompt-logprob endpoint) and summarise into an AuditResult. Every answer and every reference result goes
// to a RunStore as it arrives, so a re-run continues where an interrupted one stopped.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "difr/http.h"
#include "difr/identify.h"
#include "difr/model.h"
#include "difr/noise.h"
#include "difr/reference.h"
#include "difr/remote.h"
#include "difr/sampling.h"
#include "difr/store.h"
#include "difr/summary.h"
#include "difr/verify.h"

namespace difr {

struct AuditTarget {
    std::string name;          // label in results: an OpenRouter provider slug or a name for an endpoint
    Endpoint endpoint;         // where to generate
    std::string pin_provider;  // OpenRouter: only this provider, no fallbacks; empty for a direct endpoint
};

struct AuditOptions {
    SamplingParams sampling;  // T = 0 by default: greedy generation and verification, as token-difr
    NoiseProfile noise = NoiseProfile::vllm;
    int32_t max_tokens = 100;
    int32_t concurrency = 8;  // requests in flight per endpoint
    bool send_seed = true;
    bool request_logprobs = false;  // ask the provider for logprobs (token ids) to measure re-tokenisation
    HttpOptions http;
    EngineSettings engine;  // the local reference's settings
    bool progress = true;   // progress bars on stderr
    // System-prompt check: verify as if the provider put this system message before every conversation
    // (it is not sent). Empty: verify the conversation exactly as sent.
    std::string assumed_system;
    // Verify the token ids a provider returned (request_logprobs) instead of the re-tokenised text, for each
    // answer whose ids detokenise to exactly its text; other answers are re-tokenised as usual.
    bool verify_provider_ids = false;
    // A second reference verifying the same tokens, compared with the first token by token (docs/audit.md,
    // "Trusting the reference").
    std::optional<ReferenceSpec> cross_reference;
    // `--noise auto`: verify under each of these profiles (one reference pass each, stored under each
    // profile's key so a re-run reuses them) and summarise under the one that explains the tokens.
    std::vector<NoiseProfile> identify;
    // Called before each request and each verified row (VerifyOptions::interrupt_check); an exception thrown
    // from it abandons the audit, and what was stored stays stored for a re-run.
    std::function<void()> interrupt_check;
};

// How often re-tokenising the provider's text gives other token ids than the provider reported.
struct RetokenizationStats {
    int64_t sequences_compared = 0;              // answers that came with token ids
    int64_t sequences_changed = 0;               // ... whose re-tokenised ids differ
    int64_t tokens_compared = 0;                 // provider token ids compared
    int64_t tokens_changed = 0;                  // positions where the re-tokenised id differs or is missing
    int64_t sequences_verified_as_returned = 0;  // verify_provider_ids: answers whose own ids were verified
};

// The audit's tokens verified against AuditOptions::cross_reference.
struct CrossReferenceResult {
    std::string reference;  // its ReferenceSpec::describe
    MetricsSummary summary;
    ReferenceAgreement agreement;  // with the audit's reference, on the same tokens
    int64_t references_reused = 0, references_new = 0;
};

struct AuditResult {
    std::string provider;        // the target's name
    std::string model;           // the model name sent to the provider
    std::string answered_by;     // the provider(s) that answered, as the endpoint reported them
    std::string reference;       // ReferenceSpec::describe
    std::string reference_json;  // the result's "reference" object (audit_result_to_json)
    MetricsSummary summary;
    int64_t n_prompts = 0;
    int64_t n_truncated = 0;  // finish_reason "length": cut at max_tokens
    RetokenizationStats retokenization;
    int64_t responses_reused = 0, responses_new = 0;    // from the store / asked in this run
    int64_t references_reused = 0, references_new = 0;  // likewise for reference rows
    std::string config_json;                            // sampling, noise, max_tokens, endpoint (no key)
    std::optional<CrossReferenceResult> cross_reference;
    std::optional<ProfileIdentification> identification;  // AuditOptions::identify at T > 0
};

// Runs one provider's audit. `model` tokenises (it may be loaded vocab-only when the reference is remote)
// and, for a local reference, verifies. Throws RemoteError when a provider or reference fails for good
// (what was stored stays stored), InputError for bad inputs.
AuditResult audit_provider(Model &model, const std::vector<std::vector<ChatMessage>> &conversations,
                           const AuditTarget &target, const ReferenceSpec &reference,
                           const AuditOptions &options, RunStore &store);

// {"exact_match_rate": ..., "avg_prob": ..., ..., "n_sequences": ..., "provider": ..., "model": ..., ...}:
// token-difr's AuditResult fields first, then what difr adds.
std::string audit_result_to_json(const AuditResult &r);
// "cross-reference <description>: 99.79% exact match of 478 tokens; agrees with the reference on ...".
std::string cross_reference_line(const CrossReferenceResult &x);
// A fixed-width table, one row per provider.
std::string audit_table(const std::vector<AuditResult> &results);

}  // namespace difr
