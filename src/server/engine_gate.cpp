// The engine's turnstile for difr serve: requests take tickets and are served in arrival order, one at a
// time; a request that waits too long gives its ticket up and gets 503 instead of waiting forever.
#include <algorithm>
#include <cstdio>

#include "difr/server.h"
#include "engine_turn.h"

namespace difr {

namespace {

std::chrono::steady_clock::duration seconds_to_duration(double s) {
    // Clamped: a limit of "forever" must not overflow the clock's integer nanoseconds.
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(std::clamp(s, 0.0, 1e8)));
}

std::string seconds_text(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", s);
    return buf;
}

}  // namespace

bool EngineGate::acquire(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    const uint64_t ticket = next_ticket_++;
    if (cv_.wait_until(lock, deadline, [&] { return serving_ == ticket; })) return true;
    abandoned_.insert(ticket);  // still ahead of serving_: release() steps over it
    return false;
}

void EngineGate::release() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        ++serving_;
        while (abandoned_.erase(serving_)) ++serving_;
    }
    cv_.notify_all();
}

EngineTurn::EngineTurn(EngineGate &gate, const EngineLimits &limits) : gate_(gate), limits_(limits) {
    held_ = gate_.acquire(std::chrono::steady_clock::now() + seconds_to_duration(limits_.wait_s));
    deadline_ = std::chrono::steady_clock::now() + seconds_to_duration(limits_.time_s);
}

EngineTurn::~EngineTurn() {
    if (held_) gate_.release();
}

void EngineTurn::check() const {
    if (expired()) throw EngineTimeout{};
}

HttpReply EngineTurn::busy_reply() const {
    const std::string m = "the engine is busy: this request waited " + seconds_text(limits_.wait_s) +
                          " s for its turn without getting it (difr serve --engine-wait); retry later";
    return {503, http_error_body(m, "server_error", ""), m};
}

HttpReply EngineTurn::timeout_reply(int64_t tokens) const {
    // 413, not 503: the same request would take as long again, so clients must not retry it.
    const std::string m = "the request needed more than " + seconds_text(limits_.time_s) +
                          " s of engine time (difr serve --engine-timeout) for its " +
                          std::to_string(tokens) + " tokens and was stopped; send shorter prompts";
    return {413, http_error_body(m, "invalid_request_error", "prompt"), m};
}

}  // namespace difr
