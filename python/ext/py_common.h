// Shared pieces of the Python bindings: running library work with the GIL released and Ctrl-C honoured,
// Python sequences and messages into difr's types, and vectors out as NumPy arrays without a copy.
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "difr/http.h"
#include "difr/model.h"
#include "difr/sequences.h"

namespace difr::py {

namespace nb = nanobind;

// Thrown inside the work by its interrupt check once the caller has seen Ctrl-C.
struct Interrupted : std::exception {
    const char *what() const noexcept override { return "interrupted"; }
};

using InterruptCheck = std::function<void()>;

// Runs `work` on a thread of its own with the GIL released, while the calling thread looks for signals every
// 50 ms (Python runs signal handlers only on the main thread, and only when asked from there). On Ctrl-C the
// check handed to `work` starts throwing Interrupted; once `work` has unwound, the KeyboardInterrupt (or
// whatever the handler raised) is raised here. `work` must not touch Python objects. Exceptions from `work`
// propagate to the caller, translated by nanobind.
template <typename R>
R run_interruptible(const std::function<R(const InterruptCheck &)> &work) {
    std::atomic<bool> stop{false};
    const InterruptCheck check = [&stop] {
        if (stop.load(std::memory_order_relaxed)) throw Interrupted();
    };
    std::optional<R> result;
    std::exception_ptr error;
    std::mutex mu;
    std::condition_variable cv;
    bool done = false, signalled = false;
    {
        nb::gil_scoped_release release;
        std::thread worker([&] {
            try {
                result.emplace(work(check));
            } catch (...) {
                error = std::current_exception();
            }
            std::lock_guard<std::mutex> lock(mu);
            done = true;
            cv.notify_all();
        });
        std::unique_lock<std::mutex> lock(mu);
        while (!cv.wait_for(lock, std::chrono::milliseconds(50), [&] { return done; })) {
            if (signalled) continue;
            lock.unlock();
            {
                nb::gil_scoped_acquire gil;
                // On an error the handler's exception stays set on this thread until raised below.
                signalled = PyErr_CheckSignals() != 0;
            }
            if (signalled) stop.store(true);
            lock.lock();
        }
        lock.unlock();
        worker.join();
    }
    if (signalled) throw nb::python_error();
    if (error) std::rethrow_exception(error);
    return std::move(*result);
}

// A vector handed to NumPy without a copy: the array owns it.
template <typename T>
nb::ndarray<nb::numpy, T, nb::ndim<1>> numpy_from(std::vector<T> &&v) {
    auto *owned = new std::vector<T>(std::move(v));
    nb::capsule owner(owned, [](void *p) noexcept { delete static_cast<std::vector<T> *>(p); });
    return nb::ndarray<nb::numpy, T, nb::ndim<1>>(owned->data(), {owned->size()}, owner);
}

// std::vector<bool> has no data(): booleans travel as bytes with NumPy's bool dtype.
nb::ndarray<nb::numpy, bool, nb::ndim<1>> numpy_bools(std::vector<uint8_t> &&v);

// token-difr's TokenSequence objects, dicts with the same keys, or (prompt, output) pairs. Token ids may be
// any Python integers (NumPy's included). TypeError / InputError name the sequence, the part and the
// position.
std::vector<TokenSequence> sequences_from_python(nb::handle outputs);

// [{"role": ..., "content": ...}, ...]; errors name `where` and the message index.
std::vector<ChatMessage> messages_from_python(nb::handle messages, const std::string &where);
nb::list messages_to_python(const std::vector<ChatMessage> &messages);

// The HTTP settings of a remote call (timeout and connect timeout in seconds, attempts, first backoff).
HttpOptions http_options(double timeout, double connect_timeout, int32_t max_attempts, double backoff);

// JSON text (a result's summary or provenance) as Python objects, through the json module.
nb::object json_to_python(const std::string &text);

}  // namespace difr::py
