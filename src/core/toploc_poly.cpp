#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "difr/halfprec.h"
#include "difr/toploc.h"

namespace difr {

namespace {

constexpr uint64_t P = kToplocPrime;

uint64_t mulmod(uint64_t a, uint64_t b) {
    return a * b % P;  // a, b < 2^16: no overflow
}

uint64_t submod(uint64_t a, uint64_t b) {
    return (a + P - b) % P;
}

// a^(p-2) = a^-1 in GF(p) (Fermat), for a != 0 mod p.
uint64_t invmod(uint64_t a) {
    uint64_t r = 1, base = a % P;
    for (uint64_t e = P - 2; e; e >>= 1) {
        if (e & 1) r = mulmod(r, base);
        base = mulmod(base, base);
    }
    return r;
}

void topk_check(size_t n, int32_t k) {
    if (k < 1 || size_t(k) > n)
        throw std::invalid_argument("top-k of " + std::to_string(k) + " needs between 1 and " +
                                    std::to_string(n) + " activations in the chunk");
}

}  // namespace

std::vector<int64_t> toploc_topk(std::span<const uint16_t> bf16, int32_t k) {
    topk_check(bf16.size(), k);
    using Elem = std::pair<float, int64_t>;
    std::vector<Elem> q(bf16.size());
    for (size_t j = 0; j < bf16.size(); ++j) q[j] = {bf16_to_float(uint16_t(bf16[j] & 0x7FFFu)), int64_t(j)};
    // Value only, NaN first: the comparator of torch's CPU topk (largest=True). Which of several equal values
    // at the k-th place are kept is then decided by the selection algorithm, so it must be the same one.
    auto before = [](const Elem &a, const Elem &b) {
        return (std::isnan(a.first) && !std::isnan(b.first)) || a.first > b.first;
    };
    if (int64_t(k) * 64 <= int64_t(q.size()))
        std::partial_sort(q.begin(), q.begin() + k, q.end(), before);
    else
        std::nth_element(q.begin(), q.begin() + (k - 1), q.end(), before);
    std::vector<int64_t> idx((size_t)k);
    for (int32_t i = 0; i < k; ++i) idx[size_t(i)] = q[size_t(i)].second;
    return idx;
}

uint32_t toploc_injective_modulus(std::span<const int64_t> x) {
    std::vector<uint32_t> seen(kToplocPrime, 0);  // stamp per residue: which modulus last used it
    for (uint32_t m = kToplocPrime; m >= 1; --m) {
        bool injective = true;
        for (int64_t v : x) {
            // the package holds indices in a C int; chunks past 2^31 values are out of its range anyway
            const uint32_t r = uint32_t(int32_t(v) % int32_t(m));
            if (seen[r] == m) {
                injective = false;
                break;
            }
            seen[r] = m;
        }
        if (injective) return m;
    }
    return 0;
}

std::vector<uint16_t> toploc_interpolate(std::span<const uint32_t> x, std::span<const uint32_t> y) {
    if (x.size() != y.size() || x.empty())
        throw std::invalid_argument("interpolation needs as many y as x, and at least one point");
    const size_t n = x.size();
    // Newton's divided differences in place: dd[i] becomes f[x_0 .. x_i].
    std::vector<uint64_t> dd(n);
    for (size_t i = 0; i < n; ++i) dd[i] = y[i] % P;
    for (size_t j = 1; j < n; ++j)
        for (size_t i = n - 1; i >= j; --i) {
            const uint64_t dx = submod(x[i] % P, x[i - j] % P);
            if (dx == 0) throw std::invalid_argument("interpolation points repeat an x (mod 65497)");
            dd[i] = mulmod(submod(dd[i], dd[i - 1]), invmod(dx));
        }
    // Nested form dd[n-1]; then c <- c * (x - x_i) + dd[i] for i = n-2 .. 0, expanded coefficient-wise.
    std::vector<uint64_t> c(n, 0);
    c[0] = dd[n - 1];
    size_t degree = 0;
    for (size_t i = n - 1; i-- > 0;) {
        const uint64_t a = x[i] % P;
        // multiply by (x - a): c'_{t} = c_{t-1} - a c_t
        for (size_t t = degree + 1; t > 0; --t) c[t] = submod(c[t - 1], mulmod(a, c[t]));
        c[0] = submod(dd[i], mulmod(a, c[0]));
        ++degree;
    }
    return std::vector<uint16_t>(c.begin(), c.end());
}

uint32_t toploc_evaluate(std::span<const uint16_t> coeffs, uint64_t x) {
    if (coeffs.empty()) return 0;
    x %= P;  // (r x + c) mod p is unchanged by reducing x first
    uint64_t r = coeffs.back() % P;
    for (size_t i = coeffs.size() - 1; i-- > 0;) r = (r * x + coeffs[i]) % P;
    return uint32_t(r);
}

ToplocProof toploc_proof_build(std::span<const uint16_t> chunk_bf16, int32_t topk) {
    const std::vector<int64_t> idx = toploc_topk(chunk_bf16, topk);
    const uint32_t m = toploc_injective_modulus(idx);
    if (m == 0) throw std::invalid_argument("no injective modulus for this chunk's top-k indices");
    std::vector<uint32_t> x(idx.size()), y(idx.size());
    for (size_t i = 0; i < idx.size(); ++i) {
        x[i] = uint32_t(int32_t(idx[i]) % int32_t(m));
        y[i] = chunk_bf16[size_t(idx[i])];  // the signed value's bits; reduced mod p by the interpolation
    }
    return {uint16_t(m), toploc_interpolate(x, y)};
}

std::vector<uint8_t> toploc_proof_bytes(const ToplocProof &p) {
    std::vector<uint8_t> b;
    b.reserve(2 + 2 * p.coeffs.size());
    b.push_back(uint8_t(p.modulus >> 8));
    b.push_back(uint8_t(p.modulus));
    for (uint16_t c : p.coeffs) {
        b.push_back(uint8_t(c >> 8));
        b.push_back(uint8_t(c));
    }
    return b;
}

ToplocProof toploc_proof_parse(std::span<const uint8_t> bytes, int32_t topk) {
    if (topk < 1) throw std::invalid_argument("top-k must be at least 1");
    const size_t want = 2 + 2 * size_t(topk);
    if (bytes.size() != want)
        throw std::invalid_argument("a proof for top-k " + std::to_string(topk) + " has " +
                                    std::to_string(want) + " bytes, this one has " +
                                    std::to_string(bytes.size()));
    ToplocProof p;
    p.modulus = uint16_t((bytes[0] << 8) | bytes[1]);
    if (p.modulus == 0)
        throw std::invalid_argument("modulus 0: a null proof (the prover failed to build one)");
    if (p.modulus > kToplocPrime)
        throw std::invalid_argument("modulus " + std::to_string(p.modulus) + " is above 65497");
    p.coeffs.resize(size_t(topk));
    for (size_t i = 0; i < size_t(topk); ++i) {
        p.coeffs[i] = uint16_t((bytes[2 + 2 * i] << 8) | bytes[3 + 2 * i]);
        if (p.coeffs[i] >= kToplocPrime)
            throw std::invalid_argument("coefficient " + std::to_string(i) + " is " +
                                        std::to_string(p.coeffs[i]) + ", not below 65497");
    }
    return p;
}

std::string base64_encode(std::span<const uint8_t> b) {
    static const char *abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string s;
    s.reserve((b.size() + 2) / 3 * 4);
    for (size_t i = 0; i < b.size(); i += 3) {
        const uint32_t n = (uint32_t(b[i]) << 16) | (i + 1 < b.size() ? uint32_t(b[i + 1]) << 8 : 0u) |
                           (i + 2 < b.size() ? uint32_t(b[i + 2]) : 0u);
        s += abc[(n >> 18) & 63];
        s += abc[(n >> 12) & 63];
        s += i + 1 < b.size() ? abc[(n >> 6) & 63] : '=';
        s += i + 2 < b.size() ? abc[n & 63] : '=';
    }
    return s;
}

std::vector<uint8_t> base64_decode(std::string_view s) {
    auto value = [&](size_t i) -> uint32_t {
        const char c = s[i];
        if (c >= 'A' && c <= 'Z') return uint32_t(c - 'A');
        if (c >= 'a' && c <= 'z') return uint32_t(c - 'a' + 26);
        if (c >= '0' && c <= '9') return uint32_t(c - '0' + 52);
        if (c == '+') return 62;
        if (c == '/') return 63;
        throw std::invalid_argument(
            "invalid base64 character " +
            (c >= 0x20 && c < 0x7F ? "'" + std::string(1, c) + "'" : "byte " + std::to_string(uint8_t(c))) +
            " at offset " + std::to_string(i));
    };
    if (s.size() % 4 != 0)
        throw std::invalid_argument("base64 length " + std::to_string(s.size()) + " is not a multiple of 4");
    std::vector<uint8_t> out;
    out.reserve(s.size() / 4 * 3);
    for (size_t i = 0; i < s.size(); i += 4) {
        const bool last = i + 4 == s.size();
        const int pad = last ? (s[i + 3] == '=') + (s[i + 2] == '=') : 0;
        if (pad == 1 && s[i + 2] == '=') throw std::invalid_argument("misplaced base64 padding");
        const uint32_t n = (value(i) << 18) | (value(i + 1) << 12) | (pad >= 2 ? 0 : value(i + 2) << 6) |
                           (pad >= 1 ? 0 : value(i + 3));
        out.push_back(uint8_t(n >> 16));
        if (pad < 2) out.push_back(uint8_t(n >> 8));
        if (pad < 1) out.push_back(uint8_t(n));
    }
    return out;
}

ToplocResult toploc_proof_verify(const ToplocProof &proof, std::span<const uint16_t> chunk_bf16, int32_t topk,
                                 ToplocSemantics semantics) {
    if (proof.modulus == 0 || proof.modulus > kToplocPrime)
        throw std::invalid_argument("proof modulus must be between 1 and 65497");
    if (proof.coeffs.size() != size_t(topk))
        throw std::invalid_argument("proof has " + std::to_string(proof.coeffs.size()) +
                                    " coefficients, top-k is " + std::to_string(topk));
    const std::vector<int64_t> idx = toploc_topk(chunk_bf16, topk);
    ToplocResult r;
    std::vector<int32_t> errs;
    errs.reserve(idx.size());
    for (int64_t i : idx) {
        const int64_t x =
            semantics == ToplocSemantics::cpp ? int64_t(int32_t(i) % int32_t(proof.modulus)) : i;
        const uint32_t claimed = toploc_evaluate(proof.coeffs, uint64_t(x));
        const uint16_t own = chunk_bf16[size_t(i)];
        if (((claimed & 0x7F80u) >> 7) !=
            ((own & 0x7F80u) >> 7)) {  // exponent field; the sign is not checked
            ++r.exp_mismatches;
            continue;
        }
        errs.push_back(std::abs(int32_t(claimed & 0x7Fu) - int32_t(own & 0x7Fu)));
    }
    if (errs.empty()) {
        r.mant_err_mean = r.mant_err_median = std::ldexp(1.0, 64);
        return r;
    }
    double sum = 0.0;
    for (int32_t e : errs) sum += e;
    r.mant_err_mean = sum / double(errs.size());
    std::sort(errs.begin(), errs.end());
    const size_t n = errs.size();
    r.mant_err_median = semantics == ToplocSemantics::cpp || n % 2 == 1
                            ? double(errs[n / 2])
                            : (double(errs[n / 2 - 1]) + double(errs[n / 2])) / 2.0;
    return r;
}

size_t toploc_chunk_count(size_t n, int32_t dbs, bool skip_prefill) {
    if (dbs < 1) throw std::invalid_argument("decode_batching_size must be at least 1");
    if (skip_prefill) return (n + size_t(dbs) - 1) / size_t(dbs);
    return n == 0 ? 0 : 1 + (n - 1 + size_t(dbs) - 1) / size_t(dbs);
}

std::vector<std::vector<uint16_t>> toploc_chunks(std::span<const std::vector<uint16_t>> a, int32_t dbs,
                                                 bool skip_prefill) {
    if (a.empty()) throw std::invalid_argument("no activations");
    if (dbs < 1) throw std::invalid_argument("decode_batching_size must be at least 1");
    std::vector<std::vector<uint16_t>> chunks;
    size_t first = 0;
    if (!skip_prefill) {
        chunks.push_back(a[0]);
        first = 1;
    }
    for (size_t i = first; i < a.size(); i += size_t(dbs)) {
        std::vector<uint16_t> c;
        for (size_t r = i; r < std::min(a.size(), i + size_t(dbs)); ++r)
            c.insert(c.end(), a[r].begin(), a[r].end());
        chunks.push_back(std::move(c));
    }
    return chunks;
}

}  // namespace difr
