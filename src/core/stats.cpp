#include "difr/stats.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>

namespace difr {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

void check_scores(std::span<const double> s, const char *what) {
    if (s.empty()) throw std::invalid_argument(std::string("ROC needs at least one ") + what + " score");
    for (double v : s)
        if (std::isnan(v)) throw std::invalid_argument(std::string("NaN among the ") + what + " scores");
}

std::vector<double> sorted_desc(std::span<const double> s) {
    std::vector<double> v(s.begin(), s.end());
    std::sort(v.begin(), v.end(), std::greater<>());
    return v;
}

// Counts that satisfy count <= alpha * total, without trusting alpha * total to round the right way.
bool within_rate(size_t count, size_t total, double alpha) {
    return static_cast<double>(count) <= alpha * static_cast<double>(total) + 1e-9;
}

}  // namespace

std::vector<RocPoint> roc_curve(std::span<const double> neg, std::span<const double> pos) {
    check_scores(neg, "negative");
    check_scores(pos, "positive");
    const std::vector<double> n = sorted_desc(neg), p = sorted_desc(pos);
    std::vector<double> all(n);
    all.insert(all.end(), p.begin(), p.end());
    std::sort(all.begin(), all.end(), std::greater<>());
    all.erase(std::unique(all.begin(), all.end()), all.end());

    std::vector<RocPoint> roc;
    roc.reserve(all.size() + 1);
    size_t fp = 0, tp = 0;  // scores strictly above the current threshold
    const double nn = static_cast<double>(n.size()), np = static_cast<double>(p.size());
    for (size_t i = 0; i <= all.size(); ++i) {
        const double t = i < all.size() ? all[i] : -kInf;
        while (fp < n.size() && n[fp] > t) ++fp;
        while (tp < p.size() && p[tp] > t) ++tp;
        roc.push_back({t, static_cast<double>(fp) / nn, static_cast<double>(tp) / np});
    }
    return roc;
}

double roc_auc(std::span<const double> neg, std::span<const double> pos) {
    check_scores(neg, "negative");
    check_scores(pos, "positive");
    // Rank-sum form of Mann-Whitney U with mid-ranks for ties (each tied pair counts 1/2).
    struct Item {
        double score;
        bool positive;
    };
    std::vector<Item> items;
    items.reserve(neg.size() + pos.size());
    for (double v : neg) items.push_back({v, false});
    for (double v : pos) items.push_back({v, true});
    std::sort(items.begin(), items.end(), [](const Item &a, const Item &b) { return a.score < b.score; });
    double rank_sum = 0.0;
    for (size_t i = 0; i < items.size();) {
        size_t j = i;
        size_t positives = 0;
        while (j < items.size() && items[j].score == items[i].score) positives += items[j++].positive;
        const double mid_rank = 0.5 * static_cast<double>(i + 1 + j);  // ranks i+1 .. j
        rank_sum += mid_rank * static_cast<double>(positives);
        i = j;
    }
    const double np = static_cast<double>(pos.size()), nn = static_cast<double>(neg.size());
    return (rank_sum - np * (np + 1.0) / 2.0) / (np * nn);
}

RocPoint roc_tpr_at_fpr(std::span<const double> neg, std::span<const double> pos, double alpha) {
    const std::vector<RocPoint> roc = roc_curve(neg, pos);
    RocPoint best = roc.front();  // nothing flagged: always admissible
    for (const RocPoint &pt : roc) {
        const size_t fp = static_cast<size_t>(std::llround(pt.fpr * static_cast<double>(neg.size())));
        if (within_rate(fp, neg.size(), alpha) && pt.tpr > best.tpr) best = pt;
    }
    return best;
}

double threshold_calibrate(std::span<const double> neg, double alpha) {
    if (neg.empty()) throw std::invalid_argument("threshold calibration needs at least one honest score");
    std::vector<double> v(neg.begin(), neg.end());
    std::sort(v.begin(), v.end());
    size_t k = 0;  // how many may exceed the threshold
    while (k + 1 < v.size() && within_rate(k + 1, v.size(), alpha)) ++k;
    return v[v.size() - 1 - k];
}

double threshold_for_flags(std::span<const double> neg, int64_t max_flags) {
    if (neg.empty()) throw std::invalid_argument("threshold calibration needs at least one honest score");
    std::vector<double> v(neg.begin(), neg.end());
    std::sort(v.begin(), v.end(), std::greater<>());
    // v[j] flags the scores strictly above it, at most j of them (fewer when some tie with v[j]).
    const size_t allowed = size_t(std::max<int64_t>(max_flags, 0));
    return v[std::min(allowed, v.size() - 1)];
}

double rate_above(std::span<const double> scores, double t) {
    if (scores.empty()) return 0.0;
    size_t above = 0;
    for (double s : scores) above += s > t;
    return static_cast<double>(above) / static_cast<double>(scores.size());
}

double binomial_sf(int64_t k, int64_t m, double p) {
    if (k <= 0) return 1.0;
    if (k > m) return 0.0;
    if (p <= 0.0) return 0.0;
    if (p >= 1.0) return 1.0;
    const double lp = std::log(p), lq = std::log1p(-p), lgm = std::lgamma(static_cast<double>(m) + 1.0);
    double max_term = -kInf;
    std::vector<double> terms;
    terms.reserve(static_cast<size_t>(m - k + 1));
    for (int64_t j = k; j <= m; ++j) {
        const double dj = static_cast<double>(j), dm = static_cast<double>(m);
        const double t = lgm - std::lgamma(dj + 1.0) - std::lgamma(dm - dj + 1.0) + dj * lp + (dm - dj) * lq;
        terms.push_back(t);
        max_term = std::max(max_term, t);
    }
    double sum = 0.0;
    for (double t : terms) sum += std::exp(t - max_term);
    return std::min(1.0, std::exp(max_term) * sum);
}

double beta_inc(double a, double b, double x) {
    if (!(a > 0.0 && b > 0.0) || !(x >= 0.0 && x <= 1.0))
        throw std::invalid_argument("beta_inc needs a, b > 0 and x in [0, 1]");
    if (x == 0.0 || x == 1.0) return x;
    // The continued fraction converges fast for x < (a + 1) / (a + b + 2); use the symmetry
    // I_x(a, b) = 1 - I_{1-x}(b, a) elsewhere. Modified Lentz evaluation.
    if (x > (a + 1.0) / (a + b + 2.0)) return 1.0 - beta_inc(b, a, 1.0 - x);
    const double log_front =
        a * std::log(x) + b * std::log1p(-x) - (std::lgamma(a) + std::lgamma(b) - std::lgamma(a + b));
    constexpr double tiny = 1e-300, eps = 1e-15;
    double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0);
    if (std::fabs(d) < tiny) d = tiny;
    d = 1.0 / d;
    double f = d;
    for (int m = 1; m <= 10000; ++m) {
        const double dm = double(m);
        for (int even = 1; even >= 0; --even) {  // the two terms of step m: even then odd
            const double num = even ? dm * (b - dm) * x / ((a + 2 * dm - 1) * (a + 2 * dm))
                                    : -(a + dm) * (a + b + dm) * x / ((a + 2 * dm) * (a + 2 * dm + 1));
            d = 1.0 + num * d;
            if (std::fabs(d) < tiny) d = tiny;
            c = 1.0 + num / c;
            if (std::fabs(c) < tiny) c = tiny;
            d = 1.0 / d;
            f *= c * d;
            if (!even && std::fabs(c * d - 1.0) < eps) return std::exp(log_front) * f / a;
        }
    }
    return std::exp(log_front) * f / a;
}

namespace {

// The p in [0, 1] where the increasing function g crosses `target`, by bisection to double precision.
template <class G>
double solve_increasing(G g, double target) {
    double lo = 0.0, hi = 1.0;
    for (int i = 0; i < 200 && hi - lo > 1e-16; ++i) {
        const double mid = 0.5 * (lo + hi);
        (g(mid) < target ? lo : hi) = mid;
    }
    return 0.5 * (lo + hi);
}

}  // namespace

Interval clopper_pearson(int64_t k, int64_t m, double level) {
    if (k < 0 || k > m) throw std::invalid_argument("clopper_pearson: k must lie in [0, m]");
    if (!(level > 0.0 && level < 1.0)) throw std::invalid_argument("clopper_pearson: level in (0, 1)");
    Interval ci;
    if (m == 0) return ci;
    const double tail = (1.0 - level) / 2.0, dk = double(k), dm = double(m);
    // P(X >= k | p) = I_p(k, m - k + 1) grows with p; P(X <= k | p) = 1 - I_p(k + 1, m - k) falls with p.
    if (k > 0) ci.lo = solve_increasing([&](double p) { return beta_inc(dk, dm - dk + 1.0, p); }, tail);
    ci.hi =
        k == m ? 1.0 : solve_increasing([&](double p) { return beta_inc(dk + 1.0, dm - dk, p); }, 1.0 - tail);
    return ci;
}

int64_t clopper_pearson_max_flags(int64_t m, double alpha, double level) {
    int64_t k = -1;
    while (k + 1 <= m && clopper_pearson(k + 1, m, level).hi <= alpha) ++k;
    return k;
}

ClusterBootstrap::ClusterBootstrap(int32_t n_clusters, int32_t replicates, uint64_t seed)
    : n_clusters_(n_clusters) {
    if (n_clusters < 1 || replicates < 1)
        throw std::invalid_argument("bootstrap: clusters and replicates >= 1");
    weights_.assign(size_t(replicates) * size_t(n_clusters), 0);
    uint64_t state = seed;
    auto next = [&state] {  // splitmix64: fixed, portable, good enough to pick clusters uniformly
        uint64_t z = (state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    };
    for (int32_t b = 0; b < replicates; ++b)
        for (int32_t i = 0; i < n_clusters; ++i) {
            // A uniform index by multiply-shift (bias < 2^-32 for a lab's few hundred clusters).
            const uint64_t c = (next() >> 32) * uint64_t(n_clusters) >> 32;
            ++weights_[size_t(b) * size_t(n_clusters) + c];
        }
}

Interval ClusterBootstrap::rate(std::span<const int64_t> k, std::span<const int64_t> m, double level) const {
    if (k.size() != size_t(n_clusters_) || m.size() != size_t(n_clusters_))
        throw std::invalid_argument("bootstrap: one count per cluster");
    std::vector<double> rates;
    const size_t replicates = weights_.size() / size_t(n_clusters_);
    for (size_t b = 0; b < replicates; ++b) {
        const int32_t *w = &weights_[b * size_t(n_clusters_)];
        double num = 0.0, den = 0.0;
        for (int32_t c = 0; c < n_clusters_; ++c)
            num += double(w[c]) * double(k[size_t(c)]), den += double(w[c]) * double(m[size_t(c)]);
        if (den > 0.0) rates.push_back(num / den);
    }
    Interval ci;
    if (rates.empty()) return ci;
    std::sort(rates.begin(), rates.end());
    const double tail = (1.0 - level) / 2.0;
    auto at = [&](double q) {  // nearest rank
        const size_t r = size_t(std::ceil(q * double(rates.size())));
        return rates[std::min(rates.size(), std::max<size_t>(r, 1)) - 1];
    };
    ci.lo = at(tail);
    ci.hi = at(1.0 - tail);
    return ci;
}

Standardizer standardizer_fit(std::span<const double> rows, size_t d) {
    if (d == 0 || rows.size() % d != 0 || rows.empty())
        throw std::invalid_argument("standardizer: rows must hold a whole number (>= 1) of rows");
    const size_t n = rows.size() / d;
    Standardizer s{std::vector<double>(d, 0.0), std::vector<double>(d, 0.0)};
    for (size_t i = 0; i < n; ++i)
        for (size_t j = 0; j < d; ++j) s.mean[j] += rows[i * d + j];
    for (double &m : s.mean) m /= static_cast<double>(n);
    for (size_t i = 0; i < n; ++i)
        for (size_t j = 0; j < d; ++j)
            s.scale[j] += (rows[i * d + j] - s.mean[j]) * (rows[i * d + j] - s.mean[j]);
    for (double &sc : s.scale) {
        sc = std::sqrt(sc / static_cast<double>(n));
        if (sc == 0.0) sc = 1.0;  // a constant feature stays centred at 0 instead of dividing by zero
    }
    return s;
}

std::vector<double> Standardizer::apply(std::span<const double> rows) const {
    const size_t d = mean.size();
    std::vector<double> z(rows.begin(), rows.end());
    for (size_t i = 0; i < z.size(); ++i) z[i] = (z[i] - mean[i % d]) / scale[i % d];
    return z;
}

double LogisticModel::decision(std::span<const double> row) const {
    double s = intercept;
    for (size_t j = 0; j < weights.size(); ++j) s += weights[j] * row[j];
    return s;
}

namespace {

// Solves A x = b in place (A is k x k row-major) by Gaussian elimination with partial pivoting; k <= ~5 here.
std::vector<double> solve_dense(std::vector<double> a, std::vector<double> b) {
    const size_t k = b.size();
    for (size_t c = 0; c < k; ++c) {
        size_t piv = c;
        for (size_t r = c + 1; r < k; ++r)
            if (std::fabs(a[r * k + c]) > std::fabs(a[piv * k + c])) piv = r;
        if (std::fabs(a[piv * k + c]) < 1e-300)
            throw std::invalid_argument("logistic regression: singular Hessian");
        if (piv != c) {
            for (size_t j = 0; j < k; ++j) std::swap(a[c * k + j], a[piv * k + j]);
            std::swap(b[c], b[piv]);
        }
        for (size_t r = c + 1; r < k; ++r) {
            const double f = a[r * k + c] / a[c * k + c];
            for (size_t j = c; j < k; ++j) a[r * k + j] -= f * a[c * k + j];
            b[r] -= f * b[c];
        }
    }
    std::vector<double> x(k);
    for (size_t i = k; i-- > 0;) {
        double s = b[i];
        for (size_t j = i + 1; j < k; ++j) s -= a[i * k + j] * x[j];
        x[i] = s / a[i * k + i];
    }
    return x;
}

// log(1 + exp(z)) without overflow.
double softplus(double z) {
    return z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z));
}

}  // namespace

LogisticModel logistic_fit(std::span<const double> rows, size_t d, std::span<const int> labels, double C) {
    if (d == 0 || rows.size() != labels.size() * d || labels.empty())
        throw std::invalid_argument("logistic regression: rows must be labels.size() x d");
    if (!(C > 0)) throw std::invalid_argument("logistic regression: C must be > 0");
    size_t positives = 0;
    for (int y : labels) {
        if (y != 0 && y != 1) throw std::invalid_argument("logistic regression: labels must be 0 or 1");
        positives += y;
    }
    if (positives == 0 || positives == labels.size())
        throw std::invalid_argument("logistic regression needs both classes in the training data");

    const size_t n = labels.size(), k = d + 1;  // beta = (intercept, w_1 .. w_d)
    std::vector<double> beta(k, 0.0);
    auto objective = [&](const std::vector<double> &b) {
        double f = 0.0;
        for (size_t i = 0; i < n; ++i) {
            double z = b[0];
            for (size_t j = 0; j < d; ++j) z += b[j + 1] * rows[i * d + j];
            f += softplus(z) - labels[i] * z;
        }
        for (size_t j = 1; j < k; ++j) f += b[j] * b[j] / (2.0 * C);
        return f;
    };
    LogisticModel model;
    double f = objective(beta);
    for (int it = 1; it <= 100; ++it) {
        std::vector<double> g(k, 0.0), h(k * k, 0.0);
        for (size_t i = 0; i < n; ++i) {
            double z = beta[0];
            for (size_t j = 0; j < d; ++j) z += beta[j + 1] * rows[i * d + j];
            const double p = 1.0 / (1.0 + std::exp(-z)), w = p * (1.0 - p);
            for (size_t a = 0; a < k; ++a) {
                const double xa = a == 0 ? 1.0 : rows[i * d + a - 1];
                g[a] += (p - labels[i]) * xa;
                for (size_t b = 0; b < k; ++b) h[a * k + b] += w * xa * (b == 0 ? 1.0 : rows[i * d + b - 1]);
            }
        }
        for (size_t j = 1; j < k; ++j) {
            g[j] += beta[j] / C;
            h[j * k + j] += 1.0 / C;
        }
        const std::vector<double> step = solve_dense(h, g);
        // Damped Newton: halve the step until the (convex) objective does not increase.
        double scale = 1.0, f_new = f;
        std::vector<double> next(k);
        for (int halvings = 0; halvings < 50; ++halvings, scale *= 0.5) {
            for (size_t j = 0; j < k; ++j) next[j] = beta[j] - scale * step[j];
            f_new = objective(next);
            if (f_new <= f) break;
        }
        double max_step = 0.0, max_beta = 0.0;
        for (size_t j = 0; j < k; ++j) {
            max_step = std::max(max_step, std::fabs(next[j] - beta[j]));
            max_beta = std::max(max_beta, std::fabs(next[j]));
        }
        beta = next;
        f = f_new;
        model.iterations = it;
        if (max_step <= 1e-12 * (1.0 + max_beta)) break;
    }
    model.intercept = beta[0];
    model.weights.assign(beta.begin() + 1, beta.end());
    return model;
}

}  // namespace difr
