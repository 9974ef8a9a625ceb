// difr serve's HTTP side: cpp-httplib routes in front of ReferenceService, one log line per request, and a
// clean stop on SIGINT/SIGTERM. The only file of difr that runs an HTTP server. cpp-httplib is the copy
// llama.cpp vendors (see CMakeLists.txt for why not Debian's).
#include <cpp-httplib/httplib.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <thread>

#include "difr/error.h"
#include "difr/server.h"

namespace difr {

namespace {

constexpr const char *kJson = "application/json";

// The logger runs on the thread that handled the request, right after the response: these carry the
// request's start time and its note from the handler to the log line.
thread_local std::chrono::steady_clock::time_point t_start;
thread_local std::string t_note;

void reply(httplib::Response &res, const HttpReply &r) {
    res.status = r.status;
    res.set_content(r.body, kJson);
    t_note = r.note;
}

const char *error_type(int status) {
    switch (status) {
        case 404:
            return "not_found_error";
        case 413:
            return "invalid_request_error";
        default:
            return status >= 500 ? "server_error" : "invalid_request_error";
    }
}

}  // namespace

void serve_http(ReferenceService &service, const ServeOptions &options,
                const std::function<void(int port)> &on_listening, ProverService *prover) {
    // Signals go to one waiting thread, which stops the server; the pool threads httplib starts inherit the
    // mask, so no request is interrupted half-way.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    httplib::Server svr;
    svr.set_payload_max_length(options.max_body_bytes);
    svr.set_pre_routing_handler([](const httplib::Request &, httplib::Response &) {
        t_start = std::chrono::steady_clock::now();
        t_note.clear();
        return httplib::Server::HandlerResponse::Unhandled;
    });
    svr.Post("/v1/completions", [&](const httplib::Request &req, httplib::Response &res) {
        if (prover && options.prover_completions && !completions_for_reference(req.body))
            reply(res, prover->completions(req.body));
        else
            reply(res, service.completions(req.body));
    });
    if (prover)
        svr.Post("/v1/chat/completions", [&](const httplib::Request &req, httplib::Response &res) {
            reply(res, prover->chat_completions(req.body));
        });
    svr.Get("/v1/models",
            [&](const httplib::Request &, httplib::Response &res) { reply(res, service.models()); });
    svr.Get("/health",
            [&](const httplib::Request &, httplib::Response &res) { reply(res, service.health()); });
    // Unknown routes, wrong methods and oversized bodies reach here with an empty body: give them an
    // OpenAI-style error too. Replies the service wrote keep theirs.
    svr.set_error_handler(
        httplib::Server::HandlerWithResponse([](const httplib::Request &req, httplib::Response &res) {
            if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
            std::string message;
            if (res.status == 413)
                message = "the request body is too large";
            else if (res.status == 404 || res.status == 405)
                message = "no route for " + req.method + " " + req.path +
                          " (difr serve has POST /v1/completions, POST /v1/chat/completions, GET /v1/models, "
                          "GET /health)";
            else
                message = "HTTP " + std::to_string(res.status);
            res.set_content(http_error_body(message, error_type(res.status), ""), kJson);
            t_note = message;
            return httplib::Server::HandlerResponse::Handled;
        }));
    svr.set_exception_handler([](const httplib::Request &, httplib::Response &res, std::exception_ptr ep) {
        std::string what = "unknown error";
        try {
            std::rethrow_exception(ep);
        } catch (const std::exception &e) {
            what = e.what();
        } catch (...) {
        }
        res.status = 500;
        res.set_content(http_error_body("internal error: " + what, "server_error", ""), kJson);
        t_note = what;
    });
    svr.set_logger([](const httplib::Request &req, const httplib::Response &res) {
        const double ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t_start).count();
        std::fprintf(stderr, "difr serve: %s %s %d %.1f ms %s %s\n", req.method.c_str(), req.path.c_str(),
                     res.status, ms, req.remote_addr.c_str(), t_note.c_str());
    });

    const int port = options.port == 0 ? svr.bind_to_any_port(options.host)
                                       : (svr.bind_to_port(options.host, options.port) ? options.port : -1);
    if (port <= 0) {
        pthread_sigmask(SIG_UNBLOCK, &stop_signals, nullptr);
        throw InputError("cannot listen on " + options.host + ":" + std::to_string(options.port) +
                         " (port in use, or not an address of this machine?)");
    }

    // bind_to_port also listens: from here the kernel queues connections until the accept loop runs.
    std::atomic<bool> by_signal{false};
    // stop() only acts on a running listener: give the accept loop a moment to start.
    auto stop_when_running = [&svr] {
        for (int i = 0; i < 1000 && !svr.is_running(); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        svr.stop();
    };
    std::thread waiter([&] {
        int sig = 0;
        sigwait(&stop_signals, &sig);
        by_signal = true;
        stop_when_running();
    });
    std::thread listener([&] { svr.listen_after_bind(); });
    std::exception_ptr failed;
    try {
        on_listening(port);
    } catch (...) {
        failed = std::current_exception();
        stop_when_running();
    }
    listener.join();
    if (!by_signal) pthread_kill(waiter.native_handle(), SIGTERM);  // still in sigwait: wake it
    waiter.join();
    pthread_sigmask(SIG_UNBLOCK, &stop_signals, nullptr);
    if (failed) std::rethrow_exception(failed);
}

}  // namespace difr
