#include "difr/detect.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>

namespace difr {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr size_t kSizes = kBucketSizes.size();

// The tokens of one configuration on one side of one fold, sequences concatenated in order, with the prompt
// (sequence index) of each token.
struct Stream {
    std::vector<TokenObs> tokens;
    std::vector<int32_t> prompt;
};

// Fold f trains on the sequences of parity f and tests on the others.
Stream stream_of(const ConfigTokens &c, int fold, bool train) {
    Stream s;
    for (size_t i = 0; i < c.sequences.size(); ++i) {
        if ((int(i % 2) == fold) != train) continue;
        s.tokens.insert(s.tokens.end(), c.sequences[i].begin(), c.sequences[i].end());
        s.prompt.insert(s.prompt.end(), c.sequences[i].size(), int32_t(i));
    }
    return s;
}

// The prompt a bucket counts for in the bootstrap: that of its middle token (a bucket of consecutive tokens
// lies in one answer or straddles two).
std::vector<int32_t> bucket_prompts(const Stream &s, size_t n) {
    std::vector<int32_t> p(s.tokens.size() / n);
    for (size_t b = 0; b < p.size(); ++b) p[b] = s.prompt[b * n + n / 2];
    return p;
}

// Held-out buckets of one kind, as (prompt, flagged) pairs accumulated over folds and configurations.
struct Flags {
    std::vector<int64_t> k, m;  // per prompt
    explicit Flags(int32_t prompts) : k(size_t(prompts), 0), m(size_t(prompts), 0) {}
    void add(int32_t prompt, bool flagged) {
        ++m[size_t(prompt)];
        k[size_t(prompt)] += flagged;
    }
    int64_t total_m() const {
        int64_t t = 0;
        for (int64_t v : m) t += v;
        return t;
    }
};

Rate rate_of(const Flags &f, const ClusterBootstrap &boot, double level) {
    Rate r;
    for (size_t i = 0; i < f.m.size(); ++i) r.k += f.k[i], r.m += f.m[i];
    if (r.m == 0) return r;
    r.value = double(r.k) / double(r.m);
    r.exact = clopper_pearson(r.k, r.m, level);
    r.bootstrap = boot.rate(f.k, f.m, level);
    return r;
}

struct Pool {
    std::vector<size_t> members;  // indices of the honest configurations that calibrate
};

// The likelihood table and the thresholds of one fold from the pool's honest training halves. Empty when no
// training token remains.
std::optional<FoldCalibration> calibrate(std::span<const ConfigTokens> configs, const Pool &pool, int fold,
                                         const DetectOptions &opts) {
    std::array<int64_t, kTokenCategories> counts{};
    int64_t total = 0;
    std::vector<Stream> train;
    for (size_t i : pool.members) {
        train.push_back(stream_of(configs[i], fold, true));
        const auto cc = token_category_counts(train.back().tokens);
        for (int k = 0; k < kTokenCategories; ++k) counts[size_t(k)] += cc[size_t(k)], total += cc[size_t(k)];
    }
    if (total == 0) return std::nullopt;
    FoldCalibration cal{llr_table_fit(counts, opts.rho), {}, {}};
    // Each honest configuration's own smoothed category frequencies, for the model-based quantile.
    std::vector<std::array<double, kTokenCategories>> own;
    for (const Stream &s : train)
        if (!s.tokens.empty()) own.push_back(llr_table_fit(token_category_counts(s.tokens), opts.rho).honest);
    for (int n : kBucketSizes) {
        std::vector<double> scores;
        for (const Stream &s : train) {
            const std::vector<double> b = bucket_llr(cal.table, s.tokens, size_t(n));
            scores.insert(scores.end(), b.begin(), b.end());
        }
        cal.honest_train_buckets.push_back(int64_t(scores.size()));
        // Empirically: as many training flags as keep the Clopper-Pearson upper bound of the training FPR at
        // or below alpha (none when there are too few buckets to certify alpha at all). By the i.i.d. model
        // of each honest configuration: its (1 - alpha/2) quantile, half the target, leaving room for the
        // held-out interval. The threshold is the stricter (larger) of the two.
        double t = scores.empty()
                       ? -INFINITY
                       : threshold_for_flags(scores, clopper_pearson_max_flags(int64_t(scores.size()),
                                                                               opts.alpha, opts.level));
        for (const auto &q : own) t = std::max(t, llr_quantile_iid(cal.table, q, size_t(n), opts.alpha / 2));
        cal.thresholds.push_back(scores.empty() ? kNaN : t);
    }
    return cal;
}

// Held-out LLR bucket scores of configuration c in one fold, with their prompts.
struct Scored {
    std::vector<double> scores;
    std::vector<int32_t> prompts;
};
Scored held_out_llr(const ConfigTokens &c, const FoldCalibration &cal, int fold, size_t n) {
    const Stream s = stream_of(c, fold, false);
    return {bucket_llr(cal.table, s.tokens, n), bucket_prompts(s, n)};
}

// Calibrated-method rates of configuration c at every bucket size, both folds pooled; `honest_scores[f][i]`
// (the pool's held-out scores) give the AUC when not empty.
std::vector<CalibratedAtN> calibrated_rates(
    const ConfigTokens &c, const std::array<FoldCalibration, 2> &cal,
    const std::array<std::vector<std::vector<double>>, 2> *honest_scores, const ClusterBootstrap &boot,
    const DetectOptions &opts) {
    std::vector<CalibratedAtN> out;
    for (size_t i = 0; i < kSizes; ++i) {
        CalibratedAtN k;
        k.n = kBucketSizes[i];
        Flags flags(boot.clusters());
        double auc = 0.0;
        int folds_with_auc = 0;
        bool thresholds = true;
        for (int f = 0; f < 2; ++f) {
            const double t = cal[size_t(f)].thresholds[i];
            thresholds = thresholds && !std::isnan(t);
            const Scored s = held_out_llr(c, cal[size_t(f)], f, size_t(k.n));
            for (size_t b = 0; b < s.scores.size(); ++b) flags.add(s.prompts[b], s.scores[b] > t);
            if (honest_scores && !(*honest_scores)[size_t(f)][i].empty() && !s.scores.empty()) {
                auc += roc_auc((*honest_scores)[size_t(f)][i], s.scores);
                ++folds_with_auc;
            }
        }
        k.evaluated = thresholds && flags.total_m() > 0;
        if (k.evaluated) {
            k.rate = rate_of(flags, boot, opts.level);
            k.auc = folds_with_auc ? auc / folds_with_auc : kNaN;
            k.accepted = k.rate.lo() <= opts.alpha;
        }
        out.push_back(k);
    }
    return out;
}

// The pool's held-out LLR scores per fold and bucket size.
std::array<std::vector<std::vector<double>>, 2> pool_scores(std::span<const ConfigTokens> configs,
                                                            const Pool &pool,
                                                            const std::array<FoldCalibration, 2> &cal) {
    std::array<std::vector<std::vector<double>>, 2> out;
    for (int f = 0; f < 2; ++f)
        for (int n : kBucketSizes) {
            std::vector<double> all;
            for (size_t i : pool.members) {
                const Scored s = held_out_llr(configs[i], cal[size_t(f)], f, size_t(n));
                all.insert(all.end(), s.scores.begin(), s.scores.end());
            }
            out[size_t(f)].push_back(std::move(all));
        }
    return out;
}

// The highest TPR whose negatives' flags stay within max_flags (the TPR-at-FPR operating point, with the FPR
// limit as a count): (threshold, flagged negatives, flagged positives).
struct OperatingPoint {
    double threshold;
    int64_t fp, tp;
};
OperatingPoint operating_point(const std::vector<double> &neg, const std::vector<double> &pos,
                               int64_t max_flags) {
    const std::vector<RocPoint> roc = roc_curve(neg, pos);
    OperatingPoint best{roc.front().threshold, 0, 0};
    for (const RocPoint &pt : roc) {
        const int64_t fp = std::llround(pt.fpr * double(neg.size())),
                      tp = std::llround(pt.tpr * double(pos.size()));
        if (fp <= std::max<int64_t>(max_flags, 0) && tp > best.tp) best = {pt.threshold, fp, tp};
    }
    return best;
}

// DiFR's method for one deviation at one bucket size, per fold: standardise on the training rows, fit, score
// the held-out rows, choose the operating point on them; rates pooled over the folds.
LogisticAtN logistic_at(std::span<const ConfigTokens> configs, const Pool &pool, const ConfigTokens &dev,
                        int n, const ClusterBootstrap &boot, const DetectOptions &opts) {
    LogisticAtN r;
    r.n = n;
    const size_t d = kBucketFeatures;
    Flags tp_flags(boot.clusters()), fp_flags(boot.clusters());
    double auc = 0.0;
    for (int f = 0; f < 2; ++f) {
        std::vector<double> neg_train, neg_test;
        std::vector<int32_t> neg_prompts;
        for (size_t i : pool.members) {
            const Stream tr = stream_of(configs[i], f, true), te = stream_of(configs[i], f, false);
            const std::vector<double> a = bucket_features(tr.tokens, size_t(n)),
                                      b = bucket_features(te.tokens, size_t(n));
            neg_train.insert(neg_train.end(), a.begin(), a.end());
            neg_test.insert(neg_test.end(), b.begin(), b.end());
            const std::vector<int32_t> p = bucket_prompts(te, size_t(n));
            neg_prompts.insert(neg_prompts.end(), p.begin(), p.end());
        }
        const Stream dtr = stream_of(dev, f, true), dte = stream_of(dev, f, false);
        const std::vector<double> pos_train = bucket_features(dtr.tokens, size_t(n)),
                                  pos_test = bucket_features(dte.tokens, size_t(n));
        const std::vector<int32_t> pos_prompts = bucket_prompts(dte, size_t(n));
        const size_t ntr = neg_train.size() / d, ptr = pos_train.size() / d;
        r.train_neg += int64_t(ntr);
        r.train_pos += int64_t(ptr);
        if (!ntr || !ptr || neg_test.empty() || pos_test.empty()) return r;  // not evaluated
        std::vector<double> rows(neg_train);
        rows.insert(rows.end(), pos_train.begin(), pos_train.end());
        std::vector<int> labels(ntr, 0);
        labels.resize(ntr + ptr, 1);
        const Standardizer z = standardizer_fit(rows, d);
        const LogisticModel model = logistic_fit(z.apply(rows), d, labels, opts.logistic_C);
        auto scores = [&](const std::vector<double> &raw) {
            const std::vector<double> zr = z.apply(raw);
            std::vector<double> s(zr.size() / d);
            for (size_t i = 0; i < s.size(); ++i) s[i] = model.decision(std::span(zr).subspan(i * d, d));
            return s;
        };
        const std::vector<double> s_neg = scores(neg_test), s_pos = scores(pos_test);
        auc += roc_auc(s_neg, s_pos);
        const OperatingPoint op = operating_point(
            s_neg, s_pos, clopper_pearson_max_flags(int64_t(s_neg.size()), opts.alpha, opts.level));
        for (size_t b = 0; b < s_neg.size(); ++b) fp_flags.add(neg_prompts[b], s_neg[b] > op.threshold);
        for (size_t b = 0; b < s_pos.size(); ++b) tp_flags.add(pos_prompts[b], s_pos[b] > op.threshold);
        if (f == 0) {
            r.weights.push_back(model.intercept);
            r.weights.insert(r.weights.end(), model.weights.begin(), model.weights.end());
        }
    }
    r.evaluated = true;
    r.auc = auc / 2;
    r.tpr = rate_of(tp_flags, boot, opts.level);
    r.fpr = rate_of(fp_flags, boot, opts.level);
    return r;
}

// The SPRT over both folds' held-out tokens, each scored with its fold's table.
SprtRun sprt_of(const ConfigTokens &c, const std::array<FoldCalibration, 2> &cal, const SprtBounds &bounds) {
    std::vector<double> llrs;
    for (int f = 0; f < 2; ++f)
        for (const TokenObs &t : stream_of(c, f, false).tokens)
            llrs.push_back(token_llr(cal[size_t(f)].table, t));
    return sprt_run(llrs, bounds);
}

void summarise_tokens(const ConfigTokens &c, ConfigResult &r) {
    double margin = 0, prob = 0, match = 0;
    for (const auto &seq : c.sequences)
        for (const TokenObs &t : seq) {
            margin += margin_capped(t.margin);
            prob += t.prob;
            match += t.exact_match;
            ++r.tokens;
        }
    for (const auto &seq : c.sequences) r.sequences += !seq.empty();
    if (r.tokens) {
        r.mean_capped_margin = margin / double(r.tokens);
        r.mean_prob = prob / double(r.tokens);
        r.exact_match_rate = match / double(r.tokens);
    }
}

bool same_tokens(const ConfigTokens &a, const ConfigTokens &b) {
    if (a.sequences.size() != b.sequences.size()) return false;
    for (size_t i = 0; i < a.sequences.size(); ++i) {
        const auto &x = a.sequences[i], &y = b.sequences[i];
        if (x.size() != y.size()) return false;
        for (size_t j = 0; j < x.size(); ++j)
            if (x[j].exact_match != y[j].exact_match || x[j].prob != y[j].prob || x[j].margin != y[j].margin)
                return false;
    }
    return true;
}

std::optional<std::array<FoldCalibration, 2>> calibrate_both(std::span<const ConfigTokens> configs,
                                                             const Pool &pool, const DetectOptions &opts) {
    std::optional<FoldCalibration> a = calibrate(configs, pool, 0, opts),
                                   b = calibrate(configs, pool, 1, opts);
    if (!a || !b) return std::nullopt;
    return std::array<FoldCalibration, 2>{*a, *b};
}

}  // namespace

PassResult detect_analyze_pass(std::span<const ConfigTokens> configs, const DetectOptions &opts) {
    PassResult pass;
    for (const ConfigTokens &c : configs) pass.prompts = std::max(pass.prompts, int32_t(c.sequences.size()));
    if (pass.prompts == 0) throw std::invalid_argument("no configuration has any sequence");
    const ClusterBootstrap boot(pass.prompts, opts.bootstrap_replicates);

    // A configuration identical token for token to an earlier one (threads, batch and concurrency give the
    // reference's tokens bit for bit) is the same data counted twice: honest ones stay out of the pool.
    std::vector<std::string> duplicate_of(configs.size());
    Pool pool;
    for (size_t i = 0; i < configs.size(); ++i) {
        for (size_t j = 0; j < i && duplicate_of[i].empty(); ++j)
            if (duplicate_of[j].empty() && same_tokens(configs[i], configs[j]))
                duplicate_of[i] = configs[j].name;
        if (configs[i].honest && duplicate_of[i].empty()) pool.members.push_back(i);
    }
    const std::optional<std::array<FoldCalibration, 2>> cal = calibrate_both(configs, pool, opts);
    if (!cal)
        throw std::invalid_argument(
            "a fold has no honest training tokens (fold 0 trains on even sequences, fold 1 on odd ones)");
    pass.folds = *cal;
    const auto honest_scores = pool_scores(configs, pool, *cal);
    const SprtBounds bounds = sprt_bounds(opts.sprt_alpha, opts.sprt_beta);

    for (size_t i = 0; i < kSizes; ++i) {  // the pool's held-out FPR
        Flags flags(boot.clusters());
        bool thresholds = true;
        for (int f = 0; f < 2; ++f) {
            const double t = cal->at(size_t(f)).thresholds[i];
            thresholds = thresholds && !std::isnan(t);
            for (size_t m : pool.members) {
                const Scored s = held_out_llr(configs[m], cal->at(size_t(f)), f, size_t(kBucketSizes[i]));
                for (size_t b = 0; b < s.scores.size(); ++b) flags.add(s.prompts[b], s.scores[b] > t);
            }
        }
        pass.honest_fpr.push_back(thresholds ? rate_of(flags, boot, opts.level) : Rate{});
    }

    for (size_t ci = 0; ci < configs.size(); ++ci) {
        const ConfigTokens &c = configs[ci];
        ConfigResult r;
        r.name = c.name;
        r.honest = c.honest;
        r.duplicate_of = duplicate_of[ci];
        summarise_tokens(c, r);
        r.sprt = sprt_of(c, *cal, bounds);
        if (c.honest) {
            r.calibrated = calibrated_rates(c, *cal, nullptr, boot, opts);
            for (const CalibratedAtN &k : r.calibrated) r.accepted = r.accepted && k.accepted;
            // Unseen: calibrated without this configuration and every one identical to it.
            Pool others;
            const std::string &group = r.duplicate_of.empty() ? c.name : r.duplicate_of;
            for (size_t m : pool.members)
                if (configs[m].name != group) others.members.push_back(m);
            if (const auto ocal =
                    others.members.empty() ? std::nullopt : calibrate_both(configs, others, opts)) {
                const auto oscores = pool_scores(configs, others, *ocal);
                r.unseen.evaluated = true;
                r.unseen.calibrated = calibrated_rates(c, *ocal, &oscores, boot, opts);
                for (const CalibratedAtN &k : r.unseen.calibrated) {
                    r.unseen.accepted = r.unseen.accepted && k.accepted;
                    if (k.evaluated) r.unseen.max_fpr = std::max(r.unseen.max_fpr, k.rate.value);
                }
                r.unseen.sprt = sprt_of(c, *ocal, bounds);
            }
            pass.configs.push_back(std::move(r));
            continue;
        }
        r.calibrated = calibrated_rates(c, *cal, &honest_scores, boot, opts);
        for (size_t i = 0; i < kSizes; ++i) {
            const CalibratedAtN &k = r.calibrated[i];
            const Rate &fpr = pass.honest_fpr[i];
            if (k.evaluated && fpr.m > 0) {
                if (!r.calibrated_tokens_needed && k.rate.lo() >= opts.target_tpr && fpr.hi() <= opts.alpha)
                    r.calibrated_tokens_needed = k.n;
                if (!r.calibrated_point_needed && k.rate.value >= opts.target_tpr && fpr.value <= opts.alpha)
                    r.calibrated_point_needed = k.n;
            }
            LogisticAtN lg = logistic_at(configs, pool, c, kBucketSizes[i], boot, opts);
            if (lg.evaluated) {
                if (!r.logistic_tokens_needed && lg.tpr.lo() >= opts.target_tpr && lg.fpr.hi() <= opts.alpha)
                    r.logistic_tokens_needed = lg.n;
                if (!r.logistic_point_needed && lg.tpr.value >= opts.target_tpr && lg.fpr.value <= opts.alpha)
                    r.logistic_point_needed = lg.n;
            }
            r.logistic.push_back(std::move(lg));
        }
        pass.configs.push_back(std::move(r));
    }
    return pass;
}

}  // namespace difr
