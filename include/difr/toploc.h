// TOPLOC proofs (Ong et al., arXiv 2501.16007), bit-compatible with the PyPI package `toploc` 0.1.6: the
// top-k (by magnitude) of a chunk of bf16 activations, encoded as the polynomial over GF(65497) that
// interpolates (index mod m, bf16 bits) with an injective modulus m; 2 + 2k bytes, big-endian; verification
// compares the exponent and mantissa fields of the polynomial's values at the verifier's own top-k. Pure
// functions, no I/O. docs/fingerprints.md describes the format, the tie rule and where difr is stricter than
// the package.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace difr {

constexpr uint32_t kToplocPrime = 65497;  // toploc's MOD_N, and the largest modulus it searches

struct ToplocProof {
    uint16_t modulus = 0;          // 1 .. 65497; 0 only in the package's null proof, which difr rejects
    std::vector<uint16_t> coeffs;  // c_0 .. c_{k-1}, ascending, each < 65497
};

// Top-k indices of |x| over bf16 bits, the set torch's CPU topk returns (0.1.6 runs topk on the CPU tensors
// its integrations pass): pairs (|x| as float, index) compared by value only, NaN largest, selected by
// std::partial_sort when 64 k <= n and by std::nth_element otherwise. Ties at the k-th value are therefore
// broken as libstdc++'s heap and introselect leave them, exactly as torch's wheel (built with libstdc++)
// does. Throws std::invalid_argument when k < 1 or k > n. The order of the result is unspecified.
std::vector<int64_t> toploc_topk(std::span<const uint16_t> bf16, int32_t k);

// The largest m in 65497 .. 1 for which the x mod m are pairwise distinct (the package's search); 0 if none.
uint32_t toploc_injective_modulus(std::span<const int64_t> x);

// Coefficients (ascending) of the unique polynomial of degree < n over GF(65497) through (x_i, y_i); the x_i
// must be distinct mod 65497. Throws std::invalid_argument otherwise.
std::vector<uint16_t> toploc_interpolate(std::span<const uint32_t> x, std::span<const uint32_t> y);
// Horner's rule over GF(65497).
uint32_t toploc_evaluate(std::span<const uint16_t> coeffs, uint64_t x);

// One proof from one chunk (the flattened activations of its rows). Throws std::invalid_argument when k is
// out of range or no injective modulus exists (the package then returns null proofs for the whole sequence).
ToplocProof toploc_proof_build(std::span<const uint16_t> chunk_bf16, int32_t topk);

std::vector<uint8_t> toploc_proof_bytes(const ToplocProof &p);
// Strict parsing: exactly 2 + 2k bytes, 1 <= modulus <= 65497, every coefficient < 65497. Throws
// std::invalid_argument saying which rule failed (the package accepts all of these and may crash on them).
ToplocProof toploc_proof_parse(std::span<const uint8_t> bytes, int32_t topk);

// Standard base64 with '=' padding. Decoding is strict: the alphabet, padding only at the end, length a
// multiple of 4; throws std::invalid_argument naming the offending character.
std::string base64_encode(std::span<const uint8_t> bytes);
std::vector<uint8_t> base64_decode(std::string_view text);

struct ToplocResult {
    int32_t exp_mismatches = 0;
    double mant_err_mean = 0.0;    // 2^64 when no exponent matches, as the package
    double mant_err_median = 0.0;  // likewise
};

// The package's two verification paths (toploc.md section 2.2). difr's default is the C++ path, which the
// package takes for a 2-D activations tensor with skip_prefill=True and which is correct for every modulus;
// the Python path (every other call) is offered to reproduce the package's numbers on lists of tensors.
enum class ToplocSemantics {
    cpp,     // index reduced mod m before evaluation; upper median (sorted[n/2])
    python,  // index evaluated unreduced (wrong when m < 65497); statistics.median (mean of the middle two)
};

ToplocResult toploc_proof_verify(const ToplocProof &proof, std::span<const uint16_t> chunk_bf16, int32_t topk,
                                 ToplocSemantics semantics = ToplocSemantics::cpp);

// Acceptance thresholds. The package has none; the defaults are toploc-experiments' vllm_validate_poly.py:
// >= 90 exponent matches of 128 (i.e. <= 38 mismatches), mean <= 10, median <= 8.
struct ToplocThresholds {
    int32_t max_exp_mismatches = 38;
    double max_mant_err_mean = 10.0;
    double max_mant_err_median = 8.0;
    bool pass(const ToplocResult &r) const {
        return r.exp_mismatches <= max_exp_mismatches && r.mant_err_mean <= max_mant_err_mean &&
               r.mant_err_median <= max_mant_err_median;
    }
};

// The package's chunking: with a prefill, chunk 0 is activations[0] (the whole prefill, flattened) and the
// decode steps activations[1..] follow in groups of `decode_batching_size`; with skip_prefill every entry is
// a decode step. Each chunk is its rows concatenated. Throws std::invalid_argument for an empty list or a
// decode_batching_size < 1.
std::vector<std::vector<uint16_t>> toploc_chunks(std::span<const std::vector<uint16_t>> activations,
                                                 int32_t decode_batching_size, bool skip_prefill);
size_t toploc_chunk_count(size_t n_activations, int32_t decode_batching_size, bool skip_prefill);

}  // namespace difr
