// The one HTTP layer of difr's remote clients (libcurl): JSON requests with connect and total timeouts,
// retries with exponential backoff and jitter on 429, 5xx and timeouts (Retry-After honoured), a bounded
// number of attempts, and errors that carry method, URL, status and a body excerpt. API keys are sent as a
// bearer token and never appear in an error, a log line or anything the caller stores.
#pragma once

#include <cstdint>
#include <ctime>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

namespace difr {

struct HttpOptions {
    double connect_timeout_s = 10.0;
    double timeout_s = 120.0;          // whole request, connect included
    int32_t max_attempts = 5;          // first try included
    double backoff_initial_s = 1.0;    // delay before the second attempt, before jitter
    double backoff_max_s = 60.0;       // cap of the exponential delay
    double retry_after_max_s = 600.0;  // a longer Retry-After is an error rather than a silent hour-long wait
    // Told about every retry ("429 from POST http://host/v1/chat/completions; retry 2/5 in 1.3 s").
    // Default: a line on stderr.
    std::function<void(const std::string &)> on_retry;
};

struct HttpRequest {
    std::string method = "POST";
    std::string url;
    std::string body;     // JSON; Content-Type: application/json
    std::string api_key;  // sent as "Authorization: Bearer <key>" when not empty
};

struct HttpResponse {
    long status = 0;
    std::string body;
    int32_t attempts = 1;
};

// A remote endpoint failed or answered something unusable (malformed JSON, a provider other than the pinned
// one). The message says which endpoint and what was wrong; the app exits with status 4.
class RemoteError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A request that did not succeed. status() is 0 when no HTTP answer came (timeout, refused connection).
class HttpError : public RemoteError {
public:
    HttpError(const std::string &what, long status) : RemoteError(what), status_(status) {}
    long status() const { return status_; }

private:
    long status_;
};

// Sends one request, retrying 429, 5xx, timeouts and broken connections up to options.max_attempts.
// Returns any 2xx answer; throws HttpError for other statuses (at once for 4xx other than 408/429) and when
// the attempts run out. The message names method, redacted URL, status and the first 300 bytes of the body.
HttpResponse http_send(const HttpRequest &request, const HttpOptions &options);

// Runs fn(i) for every i in [0, n) on at most `concurrency` threads. After the first exception no new index
// is started; the running ones finish, then that exception is rethrown.
void parallel_for(size_t n, int32_t concurrency, const std::function<void(size_t)> &fn);

// --- pieces of the policy, exposed for tests ---

bool http_status_retryable(long status);  // 408, 429, 5xx
// Retry-After as delta-seconds ("120") or an HTTP date, relative to `now`. nullopt when unparseable.
std::optional<double> retry_after_parse(const std::string &value, std::time_t now);
// Delay before attempt `attempt` + 1 (attempt >= 1 failed): min(max, initial * 2^(attempt-1)) scaled by a
// jitter factor in [0.5, 1) from `unit` in [0, 1), so clients that failed together do not retry together.
double backoff_delay(int32_t attempt, const HttpOptions &options, double unit);

// A URL without user:password@ and with the values of key/token-like query parameters replaced by "***".
std::string url_redact(const std::string &url);
// `text` with every occurrence of `secret` replaced by "***" (no-op for an empty secret).
std::string text_redact(std::string text, const std::string &secret);

// The value of an environment variable holding an API key. Throws InputError naming the variable (never
// the value) when it is unset or empty.
std::string api_key_from_env(const std::string &variable);

}  // namespace difr
