// A request's turn at the engine (shared by difr serve's services; never included outside src/server): waits
// for the EngineGate within EngineLimits::wait_s and bounds the engine work to EngineLimits::time_s.
#pragma once

#include <chrono>
#include <string>

#include "difr/server.h"

namespace difr {

// Thrown by EngineTurn::check() from inside the engine's callbacks once the turn has run out of time.
struct EngineTimeout {};

class EngineTurn {
public:
    EngineTurn(EngineGate &gate, const EngineLimits &limits);
    ~EngineTurn();
    EngineTurn(const EngineTurn &) = delete;
    EngineTurn &operator=(const EngineTurn &) = delete;

    bool held() const { return held_; }
    bool expired() const { return std::chrono::steady_clock::now() > deadline_; }
    // Throws EngineTimeout when the engine time is used up; cheap enough to call once per row.
    void check() const;

    HttpReply busy_reply() const;                   // 503: no turn within wait_s
    HttpReply timeout_reply(int64_t tokens) const;  // 413: the work took longer than time_s

private:
    EngineGate &gate_;
    EngineLimits limits_;
    bool held_ = false;
    std::chrono::steady_clock::time_point deadline_;
};

}  // namespace difr
