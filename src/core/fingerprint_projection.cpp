// Built with -ffp-contract=off (CMakeLists.txt): a fused multiply-add would change the last bits of the
// projection on machines whose compilers contract, and the prover and verifier must agree bit for bit.
#include <cmath>
#include <stdexcept>
#include <string>

#include "difr/fingerprint.h"
#include "difr/halfprec.h"
#include "difr/philox.h"

namespace difr {

namespace {

constexpr uint32_t kStream = 0x41444652u;  // "ADFR": keeps these draws apart from other Philox users

double uniform53(uint32_t hi, uint32_t lo) {
    return double((uint64_t(hi >> 5) << 26) | (lo >> 6)) * 0x1.0p-53;  // [0, 1), 53 bits
}

}  // namespace

std::string fingerprint_basis_name(FingerprintBasis b) {
    return b == FingerprintBasis::orthonormal ? "orthonormal" : "gaussian";
}

FingerprintBasis fingerprint_basis_parse(const std::string &name) {
    if (name == "orthonormal") return FingerprintBasis::orthonormal;
    if (name == "gaussian") return FingerprintBasis::gaussian;
    throw std::invalid_argument("fingerprint basis must be orthonormal or gaussian, got '" + name + "'");
}

std::string fingerprint_dtype_name(FingerprintDtype d) {
    return d == FingerprintDtype::f16 ? "f16" : "bf16";
}

FingerprintDtype fingerprint_dtype_parse(const std::string &name) {
    if (name == "f16" || name == "fp16") return FingerprintDtype::f16;
    if (name == "bf16") return FingerprintDtype::bf16;
    throw std::invalid_argument("fingerprint dtype must be f16 or bf16, got '" + name + "'");
}

void FingerprintSpec::validate() const {
    if (k < kFingerprintMinK || k > kFingerprintMaxK)
        throw std::invalid_argument("fingerprint k must be between " + std::to_string(kFingerprintMinK) +
                                    " and " + std::to_string(kFingerprintMaxK) + ", got " +
                                    std::to_string(k));
    if (dim < 1) throw std::invalid_argument("fingerprint dimension must be positive");
    if (basis == FingerprintBasis::orthonormal && k > dim)
        throw std::invalid_argument("an orthonormal fingerprint needs k <= D (k " + std::to_string(k) +
                                    ", D " + std::to_string(dim) + ")");
}

double fingerprint_log(double x) {
    // x = m * 2^e with m in [sqrt(1/2), sqrt(2)); log m = 2 atanh(t), t = (m - 1) / (m + 1), |t| < 0.1716, by
    // its odd series to t^27 (the next term is below 2^-70 of the sum).
    int e = 0;
    double m = std::frexp(x, &e);  // [0.5, 1)
    if (m < 0.70710678118654752440) {
        m *= 2.0;
        e -= 1;
    }
    const double t = (m - 1.0) / (m + 1.0), t2 = t * t;
    double s = 1.0 / 27.0;
    for (int n = 25; n >= 1; n -= 2) s = s * t2 + 1.0 / double(n);
    const double ln2_hi = 0x1.62e42feep-1, ln2_lo = 0x1.a39ef35793c76p-33;  // hi has 32 bits: e * hi is exact
    return (double(e) * ln2_hi + 2.0 * t * s) + double(e) * ln2_lo;
}

double fingerprint_gaussian(uint64_t seed, uint32_t i, uint32_t c) {
    const philox4x32_key key = {uint32_t(seed), uint32_t(seed >> 32)};
    for (uint32_t attempt = 0;; ++attempt) {  // accepts with probability pi/4 per attempt
        const philox4x32_ctr r = philox4x32_10({i, c, attempt, kStream}, key);
        const double x = 2.0 * uniform53(r[0], r[1]) - 1.0, y = 2.0 * uniform53(r[2], r[3]) - 1.0;
        const double s = x * x + y * y;
        if (s > 0.0 && s < 1.0) return x * std::sqrt(-2.0 * fingerprint_log(s) / s);
    }
}

std::vector<float> fingerprint_projection(const FingerprintSpec &spec) {
    spec.validate();
    const size_t D = size_t(spec.dim), K = size_t(spec.k);
    std::vector<double> g(D * K);
    for (size_t i = 0; i < D; ++i)
        for (size_t c = 0; c < K; ++c)
            g[i * K + c] = fingerprint_gaussian(spec.seed, uint32_t(i), uint32_t(c));
    if (spec.basis == FingerprintBasis::gaussian) {
        const double scale = 1.0 / std::sqrt(double(K));
        for (double &v : g) v *= scale;
    } else {
        // Modified Gram-Schmidt, each column against the earlier ones twice ("twice is enough": the columns
        // are orthonormal to working precision), then scaled to sqrt(D/k): the expected column norm of the
        // Gaussian basis, so both bases measure distances in the same units (E|P^T h|^2 = |h|^2).
        const double target = std::sqrt(double(D) / double(K));
        for (size_t c = 0; c < K; ++c) {
            for (int pass = 0; pass < 2; ++pass)
                for (size_t p = 0; p < c; ++p) {
                    double dot = 0.0;
                    for (size_t i = 0; i < D; ++i) dot += g[i * K + p] * g[i * K + c];
                    for (size_t i = 0; i < D; ++i) g[i * K + c] -= dot * g[i * K + p];
                }
            double norm = 0.0;
            for (size_t i = 0; i < D; ++i) norm += g[i * K + c] * g[i * K + c];
            norm = std::sqrt(norm);
            if (!(norm > 0.0)) throw std::runtime_error("fingerprint projection: a column vanished");
            for (size_t i = 0; i < D; ++i) g[i * K + c] /= norm;
        }
        for (double &v : g) v *= target;
    }
    std::vector<float> p(D * K);
    for (size_t i = 0; i < p.size(); ++i) p[i] = float(g[i]);
    return p;
}

FingerprintProjector::FingerprintProjector(const FingerprintSpec &spec)
    : spec_(spec), p_(fingerprint_projection(spec)) {}

void FingerprintProjector::project(std::span<const float> hidden, std::span<uint16_t> out) const {
    const size_t D = size_t(spec_.dim), K = size_t(spec_.k);
    if (hidden.size() != D)
        throw std::invalid_argument("hidden state has " + std::to_string(hidden.size()) +
                                    " values, the fingerprint expects D = " + std::to_string(D));
    if (out.size() != K) throw std::invalid_argument("fingerprint output must have k entries");
    double acc[kFingerprintMaxK] = {};
    for (size_t i = 0; i < D; ++i) {
        const double h = hidden[i];
        const float *row = &p_[i * K];
        for (size_t c = 0; c < K; ++c) acc[c] += double(row[c]) * h;  // exact products, summed in row order
    }
    for (size_t c = 0; c < K; ++c) {
        const float v = float(acc[c]);
        if (!std::isfinite(v))
            throw std::range_error("fingerprint value is not finite (hidden state NaN/inf)");
        const uint16_t bits = spec_.dtype == FingerprintDtype::f16 ? fp16_from_float(v) : bf16_from_float(v);
        if ((bits & 0x7FFFu) == (spec_.dtype == FingerprintDtype::f16 ? 0x7C00u : 0x7F80u))
            throw std::range_error("fingerprint value " + std::to_string(v) + " overflows " +
                                   fingerprint_dtype_name(spec_.dtype) + " (use --fingerprint-dtype bf16)");
        out[c] = bits;
    }
}

float fingerprint_value(uint16_t bits, FingerprintDtype dtype) {
    return dtype == FingerprintDtype::f16 ? fp16_to_float(bits) : bf16_to_float(bits);
}

double fingerprint_distance(std::span<const uint16_t> a, std::span<const uint16_t> b,
                            FingerprintDtype dtype) {
    if (a.size() != b.size()) throw std::invalid_argument("fingerprints of different lengths");
    double s = 0.0;
    for (size_t c = 0; c < a.size(); ++c) {
        const double d = double(fingerprint_value(a[c], dtype)) - double(fingerprint_value(b[c], dtype));
        s += d * d;
    }
    return std::sqrt(s);
}

double fingerprint_norm(std::span<const uint16_t> a, FingerprintDtype dtype) {
    double s = 0.0;
    for (uint16_t v : a) s += double(fingerprint_value(v, dtype)) * double(fingerprint_value(v, dtype));
    return std::sqrt(s);
}

}  // namespace difr
