#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "difr/verify.h"

namespace difr {

namespace {

double now_seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

ProgressBar::ProgressBar(std::string label, size_t total)
    : label_(std::move(label)), total_(total), tty_(isatty(STDERR_FILENO) != 0), start_(now_seconds()) {}

void ProgressBar::update(size_t done) {
    if (total_ == 0) return;
    const double t = now_seconds();
    const double frac = (double)done / (double)total_;
    if (tty_) {
        if (done < total_ && t - last_draw_ < 0.1) return;
        last_draw_ = t;
        const int width = 30, filled = (int)(frac * width);
        std::fprintf(stderr, "\r%s [%.*s%*s] %zu/%zu %.0fs", label_.c_str(), filled,
                     "==============================", width - filled, "", done, total_, t - start_);
        std::fflush(stderr);
    } else {
        const int decile = (int)(frac * 10);
        if (decile == last_decile_) return;
        last_decile_ = decile;
        std::fprintf(stderr, "%s: %zu/%zu sequences (%.0fs)\n", label_.c_str(), done, total_, t - start_);
    }
}

void ProgressBar::finish() {
    if (tty_ && total_ > 0) std::fputc('\n', stderr);
}

}  // namespace difr
