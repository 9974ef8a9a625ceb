#include "difr/detect.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>

namespace difr {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Bucket rows of every honest config in one split, never mixing configs inside a bucket.
std::vector<double> honest_features(std::span<const ConfigTokens> configs, bool train, size_t n) {
    std::vector<double> rows;
    for (const ConfigTokens &c : configs) {
        if (!c.honest) continue;
        const std::vector<double> r = bucket_features(train ? c.train : c.test, n);
        rows.insert(rows.end(), r.begin(), r.end());
    }
    return rows;
}

// Honest configurations' LLR bucket scores in one split, leaving out configuration `skip` (npos: none).
std::vector<double> honest_llr(const LlrTable &t, std::span<const ConfigTokens> configs, bool train, size_t n,
                               size_t skip) {
    std::vector<double> s;
    for (size_t i = 0; i < configs.size(); ++i) {
        if (!configs[i].honest || i == skip) continue;
        const std::vector<double> b = bucket_llr(t, train ? configs[i].train : configs[i].test, n);
        s.insert(s.end(), b.begin(), b.end());
    }
    return s;
}

struct Calibration {
    LlrTable table;
    std::vector<double> thresholds;  // per bucket size; NaN without honest training buckets
    std::vector<int64_t> train_buckets;
};

// The likelihood table and the thresholds from the honest training halves, leaving out `skip`. Empty when no
// honest training token remains.
std::optional<Calibration> calibrate(std::span<const ConfigTokens> configs, size_t skip,
                                     const DetectOptions &opts) {
    std::array<int64_t, kTokenCategories> counts{};
    int64_t total = 0;
    for (size_t i = 0; i < configs.size(); ++i)
        if (configs[i].honest && i != skip) {
            const auto cc = token_category_counts(configs[i].train);
            for (int k = 0; k < kTokenCategories; ++k) counts[k] += cc[k], total += cc[k];
        }
    if (total == 0) return std::nullopt;
    Calibration cal{llr_table_fit(counts, opts.rho), {}, {}};
    // Each honest configuration's own smoothed category frequencies, for the model-based quantile.
    std::vector<std::array<double, kTokenCategories>> own;
    for (size_t i = 0; i < configs.size(); ++i)
        if (configs[i].honest && i != skip && !configs[i].train.empty()) {
            const auto cc = token_category_counts(configs[i].train);
            own.push_back(llr_table_fit(cc, opts.rho).honest);
        }
    for (int n : kBucketSizes) {
        const std::vector<double> train = honest_llr(cal.table, configs, true, size_t(n), skip);
        cal.train_buckets.push_back(int64_t(train.size()));
        double t = train.empty() ? -INFINITY : threshold_calibrate(train, opts.alpha);
        for (const auto &q : own) t = std::max(t, llr_quantile_iid(cal.table, q, size_t(n), opts.alpha));
        cal.thresholds.push_back(t);
    }
    return cal;
}

// An honest configuration's held-out buckets against a calibration: flagged counts per bucket size and
// whether the rate is consistent with alpha (one-sided binomial tail >= 0.01).
std::vector<CalibratedAtN> honest_check(const ConfigTokens &c, const Calibration &cal,
                                        const DetectOptions &opts) {
    std::vector<CalibratedAtN> out;
    for (size_t i = 0; i < kBucketSizes.size(); ++i) {
        CalibratedAtN k;
        k.n = kBucketSizes[i];
        const std::vector<double> scores = bucket_llr(cal.table, c.test, size_t(k.n));
        k.test_buckets = int64_t(scores.size());
        k.evaluated = !scores.empty() && !std::isnan(cal.thresholds[i]);
        if (k.evaluated) {
            for (double s : scores) k.flagged += s > cal.thresholds[i];
            k.rate = double(k.flagged) / double(k.test_buckets);
            k.accepted = binomial_sf(k.flagged, k.test_buckets, opts.alpha) >= 0.01;
        }
        out.push_back(k);
    }
    return out;
}

// DiFR's method for one deviation at one bucket size: standardise on training rows, fit, score the test rows.
LogisticAtN logistic_at(const std::vector<double> &neg_train, const std::vector<double> &neg_test,
                        const ConfigTokens &dev, int n, const DetectOptions &opts) {
    LogisticAtN r;
    r.n = n;
    const std::vector<double> pos_train = bucket_features(dev.train, n),
                              pos_test = bucket_features(dev.test, n);
    const size_t d = kBucketFeatures;
    r.train_neg = int64_t(neg_train.size() / d);
    r.train_pos = int64_t(pos_train.size() / d);
    r.test_neg = int64_t(neg_test.size() / d);
    r.test_pos = int64_t(pos_test.size() / d);
    if (!r.train_neg || !r.train_pos || !r.test_neg || !r.test_pos) return r;
    std::vector<double> rows(neg_train);
    rows.insert(rows.end(), pos_train.begin(), pos_train.end());
    std::vector<int> labels(size_t(r.train_neg), 0);
    labels.resize(size_t(r.train_neg + r.train_pos), 1);
    const Standardizer z = standardizer_fit(rows, d);
    const LogisticModel model = logistic_fit(z.apply(rows), d, labels, opts.logistic_C);
    auto scores = [&](const std::vector<double> &raw) {
        const std::vector<double> zr = z.apply(raw);
        std::vector<double> s(zr.size() / d);
        for (size_t i = 0; i < s.size(); ++i) s[i] = model.decision(std::span(zr).subspan(i * d, d));
        return s;
    };
    const std::vector<double> s_neg = scores(neg_test), s_pos = scores(pos_test);
    r.evaluated = true;
    r.auc = roc_auc(s_neg, s_pos);
    const RocPoint op = roc_tpr_at_fpr(s_neg, s_pos, opts.alpha);
    r.tpr = op.tpr;
    r.fpr = op.fpr;
    r.weights.push_back(model.intercept);
    r.weights.insert(r.weights.end(), model.weights.begin(), model.weights.end());
    return r;
}

void summarise_tokens(const ConfigTokens &c, ConfigResult &r) {
    double margin = 0, prob = 0, match = 0;
    for (const auto *part : {&c.train, &c.test})
        for (const TokenObs &t : *part) {
            margin += margin_capped(t.margin);
            prob += t.prob;
            match += t.exact_match;
        }
    r.tokens = int64_t(c.train.size() + c.test.size());
    if (r.tokens) {
        r.mean_capped_margin = margin / double(r.tokens);
        r.mean_prob = prob / double(r.tokens);
        r.exact_match_rate = match / double(r.tokens);
    }
}

}  // namespace

PassResult detect_analyze_pass(std::span<const ConfigTokens> configs, const DetectOptions &opts) {
    const size_t none = configs.size();
    const std::optional<Calibration> pooled = calibrate(configs, none, opts);
    if (!pooled)
        throw std::invalid_argument("no honest configuration has training tokens (even-numbered sequences)");
    PassResult pass;
    pass.table = pooled->table;
    pass.thresholds = pooled->thresholds;
    pass.honest_train_buckets = pooled->train_buckets;
    const SprtBounds bounds = sprt_bounds(opts.sprt_alpha, opts.sprt_beta);

    std::vector<std::vector<double>> neg_feat_train, neg_feat_test, neg_llr_test;
    for (int n : kBucketSizes) {
        neg_feat_train.push_back(honest_features(configs, true, size_t(n)));
        neg_feat_test.push_back(honest_features(configs, false, size_t(n)));
        neg_llr_test.push_back(honest_llr(pass.table, configs, false, size_t(n), none));
    }

    auto sprt = [&](const LlrTable &table, const ConfigTokens &c) {
        std::vector<double> llrs(c.test.size());
        for (size_t i = 0; i < llrs.size(); ++i) llrs[i] = token_llr(table, c.test[i]);
        return sprt_run(llrs, bounds);
    };
    for (size_t ci = 0; ci < configs.size(); ++ci) {
        const ConfigTokens &c = configs[ci];
        ConfigResult r;
        r.name = c.name;
        r.honest = c.honest;
        summarise_tokens(c, r);
        r.sprt = sprt(pass.table, c);
        if (c.honest) {
            r.calibrated = honest_check(c, *pooled, opts);
            for (const CalibratedAtN &k : r.calibrated) r.accepted = r.accepted && k.accepted;
            if (const std::optional<Calibration> others = calibrate(configs, ci, opts)) {
                r.unseen.evaluated = true;
                for (const CalibratedAtN &k : honest_check(c, *others, opts)) {
                    r.unseen.accepted = r.unseen.accepted && k.accepted;
                    r.unseen.max_fpr = std::max(r.unseen.max_fpr, k.rate);
                }
                r.unseen.sprt = sprt(others->table, c);
            }
            pass.configs.push_back(std::move(r));
            continue;
        }
        for (size_t i = 0; i < kBucketSizes.size(); ++i) {
            const int n = kBucketSizes[i];
            const std::vector<double> scores = bucket_llr(pass.table, c.test, size_t(n));
            CalibratedAtN cal;
            cal.n = n;
            cal.test_buckets = int64_t(scores.size());
            cal.evaluated = !scores.empty() && !std::isnan(pass.thresholds[i]);
            if (cal.evaluated) {
                for (double s : scores) cal.flagged += s > pass.thresholds[i];
                cal.rate = double(cal.flagged) / double(cal.test_buckets);
                if (!neg_llr_test[i].empty()) cal.auc = roc_auc(neg_llr_test[i], scores);
                if (!r.calibrated_tokens_needed && cal.rate >= opts.target_tpr)
                    r.calibrated_tokens_needed = n;
            }
            r.calibrated.push_back(cal);
            LogisticAtN lg = logistic_at(neg_feat_train[i], neg_feat_test[i], c, n, opts);
            if (lg.evaluated && !r.logistic_tokens_needed && lg.tpr >= opts.target_tpr)
                r.logistic_tokens_needed = n;
            r.logistic.push_back(std::move(lg));
        }
        pass.configs.push_back(std::move(r));
    }
    return pass;
}

}  // namespace difr
