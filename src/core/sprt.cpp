#include "difr/sprt.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

namespace difr {

SprtBounds sprt_bounds(double alpha, double beta) {
    if (!(alpha > 0 && alpha < 1 && beta > 0 && beta < 1))
        throw std::invalid_argument("SPRT error rates must be in (0, 1)");
    return {std::log((1.0 - beta) / alpha), std::log(beta / (1.0 - alpha))};
}

SprtRun sprt_run(std::span<const double> llrs, const SprtBounds &bounds) {
    SprtRun run;
    double s = 0.0;
    int64_t used = 0;
    std::vector<int64_t> lengths;
    for (double l : llrs) {
        s += l;
        ++used;
        if (s >= bounds.upper || s <= bounds.lower) {
            ++run.decisions;
            ++(s >= bounds.upper ? run.deviation_decisions : run.honest_decisions);
            run.decided_tokens += used;
            lengths.push_back(used);
            s = 0.0;
            used = 0;
        }
    }
    run.undecided_tokens = used;
    if (!lengths.empty()) {
        const size_t rank = size_t(std::ceil(0.99 * double(lengths.size())));  // nearest rank, 1-based
        std::nth_element(lengths.begin(), lengths.begin() + long(rank - 1), lengths.end());
        run.p99_tokens = lengths[rank - 1];
    }
    return run;
}

}  // namespace difr
