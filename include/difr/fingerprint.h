// Activation-DiFR (the DiFR paper's second method): a seeded random projection compresses the final hidden
// state of each generated token (the LM head's input) to k values; the verifier recomputes the projection
// from its own hidden state and measures the L2 distance. Pure functions, no I/O: the file format and the
// prover/verifier plumbing are in difr/fingerprint_proofs.h.
//
// The projection P (D x k) is rebuilt bit for bit on every machine from (seed, D, k, basis): Gaussian entries
// from Philox4x32-10 (difr/philox.h) by Marsaglia's polar method with a logarithm made of IEEE-754 basic
// operations only (no libm), then, for the orthonormal basis, modified Gram-Schmidt (twice) in double. docs/
// fingerprints.md says why each choice was made.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace difr {

enum class FingerprintBasis {
    orthonormal,  // default: the paper's "random orthogonal projection"; columns scaled to norm sqrt(D/k)
    gaussian,     // DiFR's code: i.i.d. N(0, 1) entries divided by sqrt(k), no orthogonalisation
};
enum class FingerprintDtype { f16, bf16 };  // the wire format of each value: 2 bytes

std::string fingerprint_basis_name(FingerprintBasis b);
FingerprintBasis fingerprint_basis_parse(const std::string &name);  // throws std::invalid_argument
std::string fingerprint_dtype_name(FingerprintDtype d);
FingerprintDtype fingerprint_dtype_parse(const std::string &name);  // throws std::invalid_argument

constexpr int32_t kFingerprintMinK = 2;
constexpr int32_t kFingerprintMaxK = 128;

struct FingerprintSpec {
    uint64_t seed = 42;
    int32_t dim = 0;  // D: the model's hidden size
    int32_t k = 8;
    FingerprintBasis basis = FingerprintBasis::orthonormal;
    FingerprintDtype dtype = FingerprintDtype::f16;
    // Throws std::invalid_argument unless 2 <= k <= 128, D >= 1 and (orthonormal) k <= D.
    void validate() const;
    int32_t bytes_per_token() const { return 2 * k; }
};

// One standard normal deviate of the projection, for entry (row i, column c), from (seed, i, c) alone.
double fingerprint_gaussian(uint64_t seed, uint32_t i, uint32_t c);

// A logarithm made of +, -, *, / only (frexp and ldexp are exact): the same bits on every IEEE-754 machine,
// accurate to a few ulp. For x > 0 and finite.
double fingerprint_log(double x);

// The projection matrix, row-major D x k, in float (products with float hidden states are exact in double).
std::vector<float> fingerprint_projection(const FingerprintSpec &spec);

class FingerprintProjector {
public:
    explicit FingerprintProjector(const FingerprintSpec &spec);
    const FingerprintSpec &spec() const { return spec_; }
    // f = P^T h, summed in double in row order, rounded to float and then to the wire format. `out` has k
    // entries. Throws std::range_error when a value overflows the wire format (fp16 above 65504).
    void project(std::span<const float> hidden, std::span<uint16_t> out) const;

private:
    FingerprintSpec spec_;
    std::vector<float> p_;
};

float fingerprint_value(uint16_t bits, FingerprintDtype dtype);
// L2 distance between two fingerprints of the same spec, in double.
double fingerprint_distance(std::span<const uint16_t> a, std::span<const uint16_t> b, FingerprintDtype dtype);
// L2 norm of one fingerprint.
double fingerprint_norm(std::span<const uint16_t> a, FingerprintDtype dtype);

}  // namespace difr
