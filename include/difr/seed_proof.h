// Seed-based top-k proofs (docs/artifacts.md "Seed proofs"): a prover fixes its sampling randomness from a
// seed, records its top-k per position, and a validator replays the draw from the artifact alone, so the
// sequence check needs no model. Two draws:
//   uniform  - the seed document's "Longer plan": run_seed = SHA-256(user_seed || uuid), index j uniform in
//              [0, k) per position, chosen == top_k[j].
//   weighted - gonka PR #1448's deterministic-sampling contract v1.0.0 (validation/detsample): the
//              position's logprobs as decimal strings -> integer weights (prec-10 decimal softmax with
//              temperature, top-k, top-p, min-p, 2^16 scale, residual) -> Sha256CounterRNG categorical draw;
//              seed = DeriveChainBoundSeed(user_seed, inference id), one RNG per position seeded "SEED|i".
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace difr {

// u64_i = big-endian uint64 of the first 8 bytes of SHA-256(seed_bytes || be_u64(i)), i = 0, 1, 2, ...
class Sha256CounterRng {
public:
    explicit Sha256CounterRng(std::string seed_bytes) : seed_(std::move(seed_bytes)) {}
    uint64_t next_u64();
    // Unbiased draw in [0, n): redraw while u64 >= 2^64 - (2^64 mod n), then u64 mod n. n > 0.
    uint64_t below(uint64_t n);
    uint64_t counter() const { return counter_; }

private:
    std::string seed_;
    uint64_t counter_ = 0;
};

// Index drawn with probability proportional to the non-negative integer weights (contract section 6): r =
// rng.below(total), the first index whose cumulative weight exceeds r. Throws std::invalid_argument for an
// empty list, a negative weight or a zero total.
size_t seed_sample_weights(std::span<const int64_t> weights, Sha256CounterRng &rng);

// --- the uniform draw (seed document) ----------------------------------------------------------------------
// run_seed = SHA-256(be_i64(user_seed) || the sequence id's ASCII bytes), written as 64 lowercase hex digits;
// the RNG is Sha256CounterRng over those 64 ASCII characters, one stream for the whole sequence: position i
// takes j_i = below(k_i) in order. The sequence id is a canonical lowercase UUID (36 characters); anything
// else throws InputError.
std::string seed_uniform_run_seed(int64_t user_seed, std::string_view sequence_id);
bool seed_uuid_valid(std::string_view id);

// --- the weighted draw (gonka PR #1448, contract v1.0.0) -------------------------------------------------
inline constexpr const char *kDetsampleContract = "1.0.0";
inline constexpr const char *kDetsampleSeedDomain = "gonka-deterministic-sampling-v1";

// DeriveChainBoundSeed: lowercase hex SHA-256 of "gonka-deterministic-sampling-v1\nuser_seed_len=<L>\n<seed
// in decimal>\ninference_id_len=<M>\n<id>" (byte lengths). The id must be 1 to 256 printable ASCII characters
// (0x21..0x7E): anything else throws InputError, as the original fails closed.
std::string seed_chain_bound(int64_t user_seed, std::string_view inference_id);

// The seed of position i of a sequence: "<base>|<i>" (detsample.VerifySequence: one fresh RNG per position).
std::string seed_position(std::string_view base, size_t i);

// CPython's repr of a float64 (shortest round-trip digits; exponent form below 1e-4 and from 1e16, ".0" on
// integral values): the canonical logprob string of the contract (section 1).
std::string python_float_repr(double v);

struct DetsampleParams {
    std::string temperature;  // decimal string, > 0
    std::optional<std::string> top_p, min_p;
    std::optional<int32_t> top_k;
};

// LogprobsToWeights (contract section 4): {token id string: logprob string} -> {token id string: weight},
// weights summing to 65536, in decimal arithmetic with 10 significant digits and round-half-even, tokens
// ordered by their id strings. Throws InputError for a malformed decimal string (naming it), an empty map, a
// non-positive temperature, or a magnitude outside what the contract's values can take.
std::map<std::string, int64_t> detsample_weights(const std::map<std::string, std::string> &logprobs,
                                                 const DetsampleParams &params);

// DecimalSampleFromLogprobs: the weights in token-id-string order, one seed_sample_weights draw.
std::string detsample_sample(const std::map<std::string, std::string> &logprobs,
                             const DetsampleParams &params, Sha256CounterRng &rng);

}  // namespace difr
