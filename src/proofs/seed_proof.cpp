// Seed proofs: the SHA-256 counter RNG, both draws and the seeds they start from. The byte layouts are
// normative (docs/artifacts.md "Seed proofs"); the weighted draw follows gonka PR #1448's contract v1.0.0
// clause by clause, and tests/conformance/test_gonka.cpp holds it to goldens made by its Python reference.
#include "difr/seed_proof.h"

#include <openssl/sha.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

#include "difr/error.h"
#include "seed_decimal.h"

namespace difr {

using detail::Decimal;

namespace {

void be64(uint64_t v, unsigned char out[8]) {
    for (int i = 7; i >= 0; --i) {
        out[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

std::string hex(const unsigned char *p, size_t n) {
    static const char *digits = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < n; ++i) {
        s += digits[p[i] >> 4];
        s += digits[p[i] & 15];
    }
    return s;
}

std::string sha256_hex(const std::string &bytes) {
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)bytes.data(), bytes.size(), md);
    return hex(md, sizeof md);
}

}  // namespace

uint64_t Sha256CounterRng::next_u64() {
    std::string buf = seed_;
    unsigned char ctr[8];
    be64(counter_++, ctr);
    buf.append((const char *)ctr, 8);
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)buf.data(), buf.size(), md);
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | md[i];
    return v;
}

uint64_t Sha256CounterRng::below(uint64_t n) {
    if (n == 0) throw std::invalid_argument("Sha256CounterRng::below: n must be > 0");
    const uint64_t rem = (UINT64_MAX % n + 1) % n;  // 2^64 mod n
    if (rem == 0) return next_u64() % n;
    const uint64_t limit = 0 - rem;  // 2^64 - rem
    for (;;) {
        const uint64_t x = next_u64();
        if (x < limit) return x % n;
    }
}

size_t seed_sample_weights(std::span<const int64_t> weights, Sha256CounterRng &rng) {
    if (weights.empty()) throw std::invalid_argument("seed_sample_weights: no weights");
    uint64_t total = 0;
    for (size_t i = 0; i < weights.size(); ++i) {
        if (weights[i] < 0)
            throw std::invalid_argument("seed_sample_weights: negative weight at index " + std::to_string(i));
        total += (uint64_t)weights[i];
    }
    if (total == 0) throw std::invalid_argument("seed_sample_weights: the weights sum to zero");
    const uint64_t r = rng.below(total);
    uint64_t cum = 0;
    for (size_t i = 0; i < weights.size(); ++i) {
        cum += (uint64_t)weights[i];
        if (r < cum) return i;
    }
    return weights.size() - 1;  // unreachable: r < total
}

bool seed_uuid_valid(std::string_view id) {
    if (id.size() != 36) return false;
    for (size_t i = 0; i < id.size(); ++i) {
        const char c = id[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return true;
}

std::string seed_uniform_run_seed(int64_t user_seed, std::string_view sequence_id) {
    if (!seed_uuid_valid(sequence_id))
        throw InputError("sequence id '" + std::string(sequence_id) +
                         "' is not a canonical lowercase UUID (8-4-4-4-12 hex digits)");
    unsigned char s[8];
    be64((uint64_t)user_seed, s);
    std::string bytes((const char *)s, 8);
    bytes.append(sequence_id);
    return sha256_hex(bytes);
}

std::string seed_chain_bound(int64_t user_seed, std::string_view inference_id) {
    if (inference_id.empty()) throw InputError("inference id: must be non-empty for the chain-bound seed");
    if (inference_id.size() > 256)
        throw InputError("inference id: longer than 256 characters (the contract's limit)");
    for (size_t i = 0; i < inference_id.size(); ++i) {
        const unsigned char c = (unsigned char)inference_id[i];
        if (c < 0x21 || c > 0x7e) {
            char buf[96];
            std::snprintf(buf, sizeof buf,
                          "inference id: byte %zu is 0x%02X; the contract takes printable ASCII "
                          "(0x21..0x7E) only",
                          i, c);
            throw InputError(buf);
        }
    }
    const std::string seed = std::to_string(user_seed);
    std::string m = kDetsampleSeedDomain;
    m += "\nuser_seed_len=" + std::to_string(seed.size()) + "\n" + seed;
    m += "\ninference_id_len=" + std::to_string(inference_id.size()) + "\n";
    m.append(inference_id);
    return sha256_hex(m);
}

std::string seed_position(std::string_view base, size_t i) {
    return std::string(base) + "|" + std::to_string(i);
}

std::string python_float_repr(double v) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
    if (v == 0) return std::signbit(v) ? "-0.0" : "0.0";
    // Shortest round-trip digits and the decimal exponent, then CPython's layout (float_repr_style 'short':
    // repr uses 'r' mode, exponent form when the exponent is < -4 or >= 16).
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
    std::string sci(buf, res.ptr);  // -d.ddde-XX
    const bool neg = sci[0] == '-';
    if (neg) sci.erase(0, 1);
    const size_t epos = sci.find('e');
    std::string digits = sci.substr(0, epos);
    digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
    const int exp10 = std::stoi(sci.substr(epos + 1));
    std::string out;
    if (exp10 < -4 || exp10 >= 16) {
        out = digits.substr(0, 1);
        if (digits.size() > 1) out += "." + digits.substr(1);
        char e[16];
        std::snprintf(e, sizeof e, "e%c%02d", exp10 < 0 ? '-' : '+', std::abs(exp10));
        out += e;
    } else if (exp10 < 0) {
        out = "0." + std::string((size_t)(-exp10 - 1), '0') + digits;
    } else {
        const size_t int_len = (size_t)exp10 + 1;
        if (digits.size() <= int_len)
            out = digits + std::string(int_len - digits.size(), '0') + ".0";
        else
            out = digits.substr(0, int_len) + "." + digits.substr(int_len);
    }
    return neg ? "-" + out : out;
}

std::map<std::string, int64_t> detsample_weights(const std::map<std::string, std::string> &logprobs,
                                                 const DetsampleParams &params) {
    using namespace detail;
    if (logprobs.empty()) throw InputError("weighted seed proof: a position has no logprobs");
    const Decimal T = decimal_parse(params.temperature, "temperature");
    if (decimal_cmp(T, Decimal{0, 0}) <= 0)
        throw InputError("weighted seed proof: temperature " + params.temperature + " is not > 0");
    // The division below takes divisors of at most 20 significant digits; a float's repr has at most 17, so
    // a longer temperature is no sampler's (found by fuzz_detsample: it escaped as std::logic_error).
    {
        int digits = 0;
        for (i128 c = T.c; c != 0; c /= 10) ++digits;
        if (digits > 20)
            throw InputError("weighted seed proof: temperature " + params.temperature +
                             " has more than 20 significant digits (a float's repr has at most 17)");
    }

    // std::map iterates keys in byte order: Python's sorted() of the id strings (contract section 3).
    std::vector<std::string> tids;
    std::map<std::string, Decimal> probs;
    {
        std::map<std::string, Decimal> scaled;
        for (const auto &[tid, lp] : logprobs) {
            tids.push_back(tid);
            scaled[tid] = decimal_div(decimal_parse(lp, "logprob of token " + tid), T);
        }
        Decimal max_val = scaled[tids[0]];
        for (const std::string &t : tids)
            if (decimal_cmp(scaled[t], max_val) > 0) max_val = scaled[t];
        std::map<std::string, Decimal> exps;
        Decimal total{0, 0};
        for (const std::string &t : tids) {
            exps[t] = decimal_exp(decimal_sub(scaled[t], max_val));
            total = decimal_add(total, exps[t]);
        }
        for (const std::string &t : tids) probs[t] = decimal_div(exps[t], total);
    }
    // Python's sorted(tids, key=prob, reverse=True): stable, so equal probabilities keep id-string order.
    auto by_prob_desc = [&](std::vector<std::string> v) {
        std::stable_sort(v.begin(), v.end(), [&](const std::string &a, const std::string &b) {
            return decimal_cmp(probs[a], probs[b]) > 0;
        });
        return v;
    };
    auto keep_only = [&](std::vector<std::string> kept) {
        std::sort(kept.begin(), kept.end());
        std::map<std::string, Decimal> p;
        for (const std::string &t : kept) p[t] = probs[t];
        probs = std::move(p);
        tids = std::move(kept);
    };
    if (params.top_k && *params.top_k < (int32_t)tids.size()) {
        if (*params.top_k < 0)
            throw InputError("weighted seed proof: top_k " + std::to_string(*params.top_k) + " < 0");
        std::vector<std::string> order = by_prob_desc(tids);
        order.resize((size_t)*params.top_k);
        keep_only(order);
    }
    if (params.top_p) {
        const Decimal tp = decimal_parse(*params.top_p, "top_p");
        Decimal cum{0, 0};
        std::vector<std::string> kept;
        for (const std::string &t : by_prob_desc(tids)) {
            cum = decimal_add(cum, probs[t]);
            kept.push_back(t);
            if (decimal_cmp(cum, tp) >= 0) break;
        }
        keep_only(kept);
    }
    if (params.min_p) {
        const Decimal mp = decimal_parse(*params.min_p, "min_p");
        if (tids.empty()) throw InputError("weighted seed proof: no token survives top_k");
        std::string best = tids[0];
        for (const std::string &t : tids)
            if (decimal_cmp(probs[t], probs[best]) > 0) best = t;
        const Decimal threshold = decimal_mul(probs[best], mp);
        std::vector<std::string> kept;
        for (const std::string &t : tids)
            if (decimal_cmp(probs[t], threshold) >= 0) kept.push_back(t);
        if (kept.empty()) kept.push_back(best);
        keep_only(kept);
    }
    if (tids.empty()) throw InputError("weighted seed proof: no token survives the filters (top_k 0?)");
    Decimal kept_total{0, 0};
    for (const std::string &t : tids) kept_total = decimal_add(kept_total, probs[t]);
    std::map<std::string, int64_t> w;
    int64_t sum = 0;
    for (const std::string &t : tids) {
        w[t] = decimal_to_integer(decimal_mul(decimal_div(probs[t], kept_total), Decimal{65536, 0}));
        sum += w[t];
    }
    // The residual goes to the largest (weight, id string).
    std::string max_tid = tids[0];
    for (const std::string &t : tids)
        if (w[t] > w[max_tid] || (w[t] == w[max_tid] && t > max_tid)) max_tid = t;
    w[max_tid] += 65536 - sum;
    return w;
}

std::string detsample_sample(const std::map<std::string, std::string> &logprobs,
                             const DetsampleParams &params, Sha256CounterRng &rng) {
    const std::map<std::string, int64_t> w = detsample_weights(logprobs, params);
    std::vector<std::string> ids;
    std::vector<int64_t> weights;
    for (const auto &[tid, wt] : w) {
        ids.push_back(tid);
        weights.push_back(wt);
    }
    return ids[seed_sample_weights(weights, rng)];
}

}  // namespace difr
