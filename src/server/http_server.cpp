// difr serve's HTTP side: cpp-httplib routes in front of the services, one log line per request, and a clean
// stop on SIGINT/SIGTERM. The only file of difr that runs an HTTP server. cpp-httplib is the copy llama.cpp
// vendors (see CMakeLists.txt for why not Debian's).
//
// Every endpoint gets the same protection from here, whatever its handler does (docs/serve.md, "Limits"):
// bodies over the limit are refused with 413 before they are read, requests whose headers and body do not
// arrive in time get 408 (a watchdog shuts the slow connection's read side), oversized or malformed headers
// 431/400, all with an OpenAI-style JSON error; a bounded pool of connection threads and queue; the bearer
// key checked before any body is read, in constant time, never logged.
#include <arpa/inet.h>
#include <cpp-httplib/httplib.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <list>
#include <set>
#include <thread>

#include "difr/error.h"
#include "difr/server.h"

namespace difr {

namespace {

constexpr const char *kJson = "application/json";
using Clock = std::chrono::steady_clock;

// The logger runs on the thread that handled the request, right after the response: this carries the
// request's note from the handler to the log line.
thread_local std::string t_note;
// What cpp-httplib's error logger reported for this connection's current request (malformed headers, a body
// over the limit, ...), so the error handler can answer with the right status and message.
thread_local httplib::Error t_http_error = httplib::Error::Success;

Clock::duration seconds(double s) {
    return std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(std::clamp(s, 0.0, 1e8)));
}

// One open connection as the watchdog sees it. `fd` is our own duplicate of the connection's socket, closed
// only when the connection is done, so a shutdown() through it can never reach a descriptor number the kernel
// has since handed to another connection.
struct Connection {
    int fd = -1;
    Clock::time_point deadline = Clock::time_point::max();  // max(): a handler is computing
    int stage = 0;  // 0: armed; 1: read side shut (the request timed out); 2: both sides shut
    // Set by the watchdog before it shuts the read side, read by the connection's thread once its read fails.
    std::atomic<bool> timed_out{false};
};
thread_local Connection *t_conn = nullptr;

// cpp-httplib bounds each read and write, not a whole request: a client that sends a byte every few seconds
// would hold a connection thread forever. The watchdog gives each request a deadline for its headers and body
// (and each answer one for being taken): past it, it shuts the connection's read side, the pending read fails
// and the client gets 408; a client that does not even take that answer is cut off. Handlers run without a
// deadline; the engine bounds its own work (EngineLimits).
class Watchdog {
public:
    Watchdog(double request_timeout_s, double keep_alive_s)
        : timeout_(seconds(request_timeout_s)), keep_alive_(seconds(keep_alive_s)) {
        thread_ = std::thread([this] { watch(); });
    }
    ~Watchdog() {
        {
            std::lock_guard<std::mutex> lock(mu_);
            stopping_ = true;
        }
        cv_.notify_all();
        thread_.join();
    }

    // Called on the listener thread right after it accepted a connection on `port` (before any read): finds
    // that socket and watches it. nullptr when it cannot be found (then only httplib's own timeouts apply).
    Connection *open(int port) {
        std::lock_guard<std::mutex> lock(mu_);
        const int fd = accepted_socket(port);
        if (fd < 0) return nullptr;
        auto *c = new Connection;
        c->fd = fd;
        c->deadline = Clock::now() + timeout_;
        open_.push_back(c);
        return c;
    }
    void close_connection(Connection *c) {
        if (!c) return;
        std::lock_guard<std::mutex> lock(mu_);
        open_.remove(c);
        inodes_.erase(inode_of(c->fd));
        ::close(c->fd);
        delete c;
    }
    void arm(Connection *c, Clock::time_point deadline) {
        if (!c) return;
        std::lock_guard<std::mutex> lock(mu_);
        if (c->stage == 0) c->deadline = deadline;
    }
    Clock::duration timeout() const { return timeout_; }
    Clock::duration keep_alive() const { return keep_alive_; }

private:
    static ino_t inode_of(int fd) {
        struct stat st;
        return fstat(fd, &st) == 0 ? st.st_ino : 0;
    }

    // httplib hands its task queue a closure, not the socket: the socket just accepted is the one connected
    // socket on our port that is not watched yet (only the listener thread accepts, one at a time). It is
    // duplicated at once, while it is certainly open.
    int accepted_socket(int port) {
        DIR *dir = opendir("/proc/self/fd");
        if (!dir) return -1;
        int found = -1;
        while (const dirent *e = readdir(dir)) {
            const int fd = std::atoi(e->d_name);
            struct stat st;
            if (e->d_name[0] < '0' || e->d_name[0] > '9' || fd == dirfd(dir) || fstat(fd, &st) != 0 ||
                !S_ISSOCK(st.st_mode) || inodes_.count(st.st_ino))
                continue;
            sockaddr_storage addr{};
            socklen_t len = sizeof addr;
            int listening = 0;
            socklen_t ll = sizeof listening;
            if (getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len) != 0 ||
                getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ll) != 0 || listening)
                continue;
            const int local =
                addr.ss_family == AF_INET    ? ntohs(reinterpret_cast<sockaddr_in *>(&addr)->sin_port)
                : addr.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6 *>(&addr)->sin6_port)
                                             : -1;
            if (local != port) continue;
            const int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
            if (dup_fd >= 0 && inode_of(dup_fd) == st.st_ino) {
                found = dup_fd;
                inodes_.insert(st.st_ino);
                break;
            }
            if (dup_fd >= 0) ::close(dup_fd);
        }
        closedir(dir);
        return found;
    }

    void watch() {
        std::unique_lock<std::mutex> lock(mu_);
        while (!cv_.wait_for(lock, std::chrono::milliseconds(100), [&] { return stopping_; })) {
            const Clock::time_point now = Clock::now();
            for (Connection *c : open_) {
                if (now < c->deadline) continue;
                if (c->stage == 0) {
                    // Marked before the shutdown: the shutdown wakes the reading thread, which asks at once
                    // whether its request timed out (408) or the connection broke (400). Marked after, a
                    // loaded machine could run that question first (seen: a 400 for a slow body).
                    c->timed_out = true;
                    shutdown(c->fd, SHUT_RD);
                    c->stage = 1;
                    c->deadline = now + timeout_;  // for writing the 408
                } else if (c->stage == 1) {
                    shutdown(c->fd, SHUT_RDWR);
                    c->stage = 2;
                }
            }
        }
    }

    const Clock::duration timeout_, keep_alive_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::list<Connection *> open_;
    std::set<ino_t> inodes_;  // of the sockets watched
    bool stopping_ = false;
    std::thread thread_;
};

// httplib's thread pool behind a queue that gives each connection to the watchdog before its first read.
class WatchedQueue : public httplib::TaskQueue {
public:
    WatchedQueue(Watchdog &watchdog, const std::atomic<int> &port, size_t threads, size_t queued)
        : watchdog_(watchdog), port_(port), pool_(threads, threads, queued) {}
    bool enqueue(std::function<void()> fn) override {
        Connection *c = watchdog_.open(port_.load());
        const bool queued = pool_.enqueue([this, c, fn = std::move(fn)] {
            t_conn = c;
            t_http_error = httplib::Error::Success;
            fn();  // the whole connection: every request on it, until httplib closes the socket
            t_conn = nullptr;
            watchdog_.close_connection(c);
        });
        if (!queued) watchdog_.close_connection(c);
        return queued;
    }
    void shutdown() override { pool_.shutdown(); }

private:
    Watchdog &watchdog_;
    const std::atomic<int> &port_;
    httplib::ThreadPool pool_;
};

// Every route goes through Post and Get here, so every handler, whoever adds it, runs outside the deadline;
// the answer then has one of its own.
class GuardedServer : public httplib::Server {
public:
    explicit GuardedServer(Watchdog &watchdog) : watchdog_(watchdog) {}

    GuardedServer &Post(const std::string &pattern, Handler handler) {
        httplib::Server::Post(pattern, guard(std::move(handler)));
        return *this;
    }
    GuardedServer &Get(const std::string &pattern, Handler handler) {
        httplib::Server::Get(pattern, guard(std::move(handler)));
        return *this;
    }

    // After each answer: the next request on a kept-alive connection gets a fresh deadline.
    void request_done() {
        t_http_error = httplib::Error::Success;
        watchdog_.arm(t_conn, Clock::now() + watchdog_.keep_alive() + watchdog_.timeout());
    }

private:
    Handler guard(Handler handler) {
        return [this, handler = std::move(handler)](const httplib::Request &req, httplib::Response &res) {
            watchdog_.arm(t_conn, Clock::time_point::max());
            struct Rearm {
                Watchdog &w;
                ~Rearm() { w.arm(t_conn, Clock::now() + w.timeout()); }
            } rearm{watchdog_};
            handler(req, res);
        };
    }

    Watchdog &watchdog_;
};

bool timed_out() {
    return t_conn && t_conn->timed_out;
}

// Whether a Content-Length value announces more than `limit` bytes. Values that are not plain numbers are
// left to httplib, which refuses them.
bool length_exceeds(const std::string &value, size_t limit) {
    if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos) return false;
    const size_t digits = value.size() - std::min(value.find_first_not_of('0'), value.size());
    return digits > 19 || std::stoull(value) > limit;
}

// Compares SHA-256 digests with CRYPTO_memcmp: the time taken does not depend on where the keys differ, nor
// on the length of either.
bool key_matches(const std::string &given, const std::string &expected) {
    unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char *>(given.data()), given.size(), a);
    SHA256(reinterpret_cast<const unsigned char *>(expected.data()), expected.size(), b);
    return CRYPTO_memcmp(a, b, sizeof a) == 0;
}

void reply(httplib::Response &res, const HttpReply &r) {
    res.status = r.status;
    res.set_content(r.body, kJson);
    t_note = r.note;
}

const char *error_type(int status) {
    switch (status) {
        case 401:
            return "authentication_error";
        case 404:
            return "not_found_error";
        case 413:
            return "invalid_request_error";
        default:
            return status >= 500 ? "server_error" : "invalid_request_error";
    }
}

// The status and message of an error cpp-httplib answered before any handler ran (its responses have no
// body), from what its error logger said about the request. Empty message: not one of these.
std::string protocol_error(int &status, const ServeOptions &o) {
    if (timed_out()) {
        status = 408;
        return "the request did not arrive within " + std::to_string((int)o.request_timeout_s) +
               " s (headers and body; difr serve --request-timeout)";
    }
    switch (t_http_error) {
        case httplib::Error::InvalidHeaders:
            status = 431;
            return "the request headers are malformed or too large (at most 100 fields of 8192 bytes each)";
        case httplib::Error::InvalidRequestLine:
        case httplib::Error::InvalidHTTPMethod:
        case httplib::Error::InvalidHTTPVersion:
            status = 400;
            return "the request line is malformed or too long";
        case httplib::Error::ExceedUriMaxLength:
            status = 414;
            return "the request target is too long";
        case httplib::Error::ExceedMaxPayloadSize:
            status = 413;
            return "the request body is larger than " + std::to_string(o.max_body_bytes) +
                   " bytes (difr serve --max-body-bytes)";
        case httplib::Error::Read:
            status = 400;
            return "the request body could not be read (the connection broke or its framing is invalid)";
        default:
            return "";
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

    service.limits_set(options.engine);
    if (prover) prover->gate_share(service.gate(), options.engine);
    Watchdog watchdog(options.request_timeout_s, options.keep_alive_s);
    std::atomic<int> listening_port{0};
    GuardedServer svr(watchdog);
    svr.set_payload_max_length(options.max_body_bytes);
    // httplib's own per-read timeout backs up the watchdog, which fires first and knows to answer 408.
    svr.set_read_timeout(seconds(options.request_timeout_s + 5.0));
    svr.set_write_timeout(seconds(options.request_timeout_s));
    svr.set_keep_alive_timeout((time_t)std::max(1.0, options.keep_alive_s));
    const size_t threads = (size_t)std::max(1, options.http_threads);
    const size_t queued = (size_t)std::max(1, options.max_queued);
    svr.new_task_queue = [&watchdog, &listening_port, threads, queued] {
        return new WatchedQueue(watchdog, listening_port, threads, queued);
    };
    svr.set_error_logger([](const httplib::Error &e, const httplib::Request *) { t_http_error = e; });
    // Before routing and before any body is read: a request without the key, or one that announces a body
    // over the limit, is refused at once (httplib itself would read the limit's worth first).
    svr.set_pre_routing_handler([&options](const httplib::Request &req, httplib::Response &res) {
        t_note.clear();
        const std::string length = req.get_header_value("Content-Length");
        if (length_exceeds(length, options.max_body_bytes)) {
            const std::string m = "the request body (" + length + " bytes) is larger than " +
                                  std::to_string(options.max_body_bytes) +
                                  " bytes (difr serve --max-body-bytes)";
            res.status = 413;
            res.set_content(http_error_body(m, "invalid_request_error", ""), kJson);
            t_note = m;
            return httplib::Server::HandlerResponse::Handled;
        }
        if (options.api_key.empty() || (req.method == "GET" && req.path == "/health"))
            return httplib::Server::HandlerResponse::Unhandled;
        const std::string given = httplib::get_bearer_token_auth(req);
        if (key_matches(given, options.api_key)) return httplib::Server::HandlerResponse::Unhandled;
        const std::string m = given.empty() ? "this server needs \"Authorization: Bearer <key>\""
                                            : "the bearer key is not this server's";
        res.status = 401;
        res.set_header("WWW-Authenticate", "Bearer");
        res.set_content(http_error_body(m, "authentication_error", ""), kJson);
        t_note = m;
        return httplib::Server::HandlerResponse::Handled;
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
        httplib::Server::HandlerWithResponse([&options](const httplib::Request &req, httplib::Response &res) {
            if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
            std::string message = protocol_error(res.status, options);
            if (!message.empty()) {
                // said above
            } else if (res.status == 404 || res.status == 405) {
                message = "no route for " + req.method + " " + req.path +
                          " (difr serve has POST /v1/completions, POST /v1/chat/completions, GET /v1/models, "
                          "GET /health)";
            } else {
                message = "HTTP " + std::to_string(res.status);
            }
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
    svr.set_logger([&svr](const httplib::Request &req, const httplib::Response &res) {
        // start_time_ is set by httplib when the request line arrives, also for requests no handler saw.
        const double ms =
            req.start_time_ == Clock::time_point::min()
                ? 0.0
                : std::chrono::duration<double, std::milli>(Clock::now() - req.start_time_).count();
        std::fprintf(stderr, "difr serve: %s %s %d %.1f ms %s %s\n", req.method.c_str(), req.path.c_str(),
                     res.status, ms, req.remote_addr.c_str(), t_note.c_str());
        t_note.clear();
        svr.request_done();
    });

    const int port = options.port == 0 ? svr.bind_to_any_port(options.host)
                                       : (svr.bind_to_port(options.host, options.port) ? options.port : -1);
    listening_port = port;
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
