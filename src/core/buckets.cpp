#include "difr/buckets.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace difr {

double margin_capped(float margin) {
    return std::isfinite(margin) ? std::min(static_cast<double>(margin), kMarginCap) : kMarginCap;
}

std::vector<double> bucket_features(std::span<const TokenObs> tokens, size_t n) {
    if (n == 0) throw std::invalid_argument("bucket size must be >= 1");
    const size_t buckets = tokens.size() / n;
    std::vector<double> rows(buckets * kBucketFeatures, 0.0);
    for (size_t b = 0; b < buckets; ++b) {
        double margin = 0.0, prob = 0.0, match = 0.0;
        for (size_t i = b * n; i < (b + 1) * n; ++i) {
            margin += margin_capped(tokens[i].margin);
            prob += tokens[i].prob;
            match += tokens[i].exact_match;
        }
        rows[b * kBucketFeatures + 0] = margin / double(n);
        rows[b * kBucketFeatures + 1] = prob / double(n);
        rows[b * kBucketFeatures + 2] = match / double(n);
    }
    return rows;
}

}  // namespace difr
