#include "difr/http.h"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "difr/error.h"

namespace difr {

namespace {

void curl_init_once() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// One easy handle per thread, reused so that connections stay open between requests to the same host.
struct CurlHandle {
    CURL *h = nullptr;
    CurlHandle() {
        curl_init_once();
        h = curl_easy_init();
    }
    ~CurlHandle() {
        if (h) curl_easy_cleanup(h);
    }
};

size_t on_body(char *data, size_t size, size_t n, void *user) {
    static_cast<std::string *>(user)->append(data, size * n);
    return size * n;
}

struct Attempt {
    CURLcode code = CURLE_OK;
    long status = 0;
    std::string body;
    std::string retry_after;
    std::string curl_error;
};

size_t on_header(char *data, size_t size, size_t n, void *user) {
    std::string line(data, size * n);
    constexpr const char kName[] = "retry-after:";
    if (line.size() > sizeof kName - 1) {
        std::string head = line.substr(0, sizeof kName - 1);
        std::transform(head.begin(), head.end(), head.begin(),
                       [](unsigned char c) { return std::tolower(c); });
        if (head == kName) {
            std::string v = line.substr(sizeof kName - 1);
            const auto b = v.find_first_not_of(" \t"), e = v.find_last_not_of(" \t\r\n");
            static_cast<Attempt *>(user)->retry_after = b == std::string::npos ? "" : v.substr(b, e - b + 1);
        }
    }
    return size * n;
}

Attempt attempt_once(const HttpRequest &req, const HttpOptions &o) {
    thread_local CurlHandle handle;
    CURL *h = handle.h;
    curl_easy_reset(h);
    Attempt a;
    curl_slist *headers = nullptr;
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Accept: application/json");
    std::string auth;
    if (!req.api_key.empty()) {
        auth = "Authorization: Bearer " + req.api_key;
        headers = curl_slist_append(headers, auth.c_str());
    }
    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    if (req.method != "GET") {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req.body.size());
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // timeouts without SIGALRM: we run on worker threads
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(o.connect_timeout_s * 1000));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(o.timeout_s * 1000));
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &a.body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &a);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    a.code = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a.status);
    curl_slist_free_all(headers);
    if (a.code != CURLE_OK) a.curl_error = errbuf[0] ? errbuf : curl_easy_strerror(a.code);
    return a;
}

// Transport failures worth another try: the server may be busy or the connection may have dropped.
bool curl_code_retryable(CURLcode c) {
    switch (c) {
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_COULDNT_CONNECT:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_COULDNT_RESOLVE_HOST:
            return true;
        default:
            return false;
    }
}

std::string excerpt(const std::string &body) {
    std::string e = body.substr(0, 300);
    for (char &c : e)
        if (c == '\n' || c == '\r') c = ' ';
    if (body.size() > 300) e += "...";
    return e;
}

std::string describe_failure(const HttpRequest &req, const Attempt &a, const HttpOptions &o) {
    const std::string where = req.method + " " + url_redact(req.url);
    if (a.code == CURLE_OPERATION_TIMEDOUT)
        return where + ": no complete answer within " + std::to_string((int)o.timeout_s) + " s (timeout; " +
               a.curl_error + ")";
    if (a.code != CURLE_OK)
        return where + ": " + a.curl_error +
               (a.status ? " (HTTP " + std::to_string(a.status) + ")" : std::string());
    return where + ": HTTP " + std::to_string(a.status) + ": " + excerpt(a.body);
}

double unit_random() {
    thread_local std::mt19937_64 rng(std::random_device{}());
    return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

}  // namespace

bool http_status_retryable(long status) {
    return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

std::optional<double> retry_after_parse(const std::string &value, std::time_t now) {
    if (value.empty()) return std::nullopt;
    if (std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isdigit(c); }))
        return value.size() > 9 ? std::optional<double>(1e9) : std::optional<double>(std::stod(value));
    curl_init_once();
    const time_t t = curl_getdate(value.c_str(), nullptr);
    if (t < 0) return std::nullopt;
    return std::max(0.0, std::difftime(t, now));
}

double backoff_delay(int32_t attempt, const HttpOptions &o, double unit) {
    const double base = std::min(o.backoff_max_s, o.backoff_initial_s * std::pow(2.0, attempt - 1));
    return base * (0.5 + 0.5 * std::clamp(unit, 0.0, 1.0));
}

HttpResponse http_send(const HttpRequest &req, const HttpOptions &o) {
    const int32_t max_attempts = std::max(1, o.max_attempts);
    for (int32_t attempt = 1;; ++attempt) {
        Attempt a = attempt_once(req, o);
        if (a.code == CURLE_OK && a.status >= 200 && a.status < 300)
            return {a.status, std::move(a.body), attempt};

        // The server may echo what it was sent; the key must not travel further in a message.
        const std::string failure = text_redact(describe_failure(req, a, o), req.api_key);
        const bool retryable =
            a.code == CURLE_OK ? http_status_retryable(a.status) : curl_code_retryable(a.code);
        const long status = a.code == CURLE_OK ? a.status : 0;
        if (!retryable) throw HttpError(failure, status);
        if (attempt >= max_attempts)
            throw HttpError(failure + " (gave up after " + std::to_string(attempt) + " attempts)", status);

        double delay = backoff_delay(attempt, o, unit_random());
        if (auto ra = retry_after_parse(a.retry_after, std::time(nullptr))) {
            if (*ra > o.retry_after_max_s)
                throw HttpError(failure + " (Retry-After " + a.retry_after + " exceeds the limit of " +
                                    std::to_string((int)o.retry_after_max_s) + " s)",
                                status);
            delay = *ra;  // the server said when; an earlier retry would only be refused again
        }
        char line[64];
        std::snprintf(line, sizeof line, "; retry %d/%d in %.1f s", attempt + 1, max_attempts, delay);
        if (o.on_retry)
            o.on_retry(failure + line);
        else
            std::fprintf(stderr, "difr: %s%s\n", failure.c_str(), line);
        std::this_thread::sleep_for(std::chrono::duration<double>(delay));
    }
}

void parallel_for(size_t n, int32_t concurrency, const std::function<void(size_t)> &fn) {
    std::atomic<size_t> next{0};
    std::atomic<bool> stop{false};
    std::exception_ptr first;
    std::mutex mu;
    auto worker = [&] {
        for (;;) {
            if (stop.load()) return;
            const size_t i = next.fetch_add(1);
            if (i >= n) return;
            try {
                fn(i);
            } catch (...) {
                std::lock_guard<std::mutex> lock(mu);
                if (!first) first = std::current_exception();
                stop.store(true);
            }
        }
    };
    const size_t n_threads = std::min<size_t>(n, (size_t)std::max(1, concurrency));
    std::vector<std::thread> threads;
    for (size_t t = 0; t < n_threads; ++t) threads.emplace_back(worker);
    for (auto &t : threads) t.join();
    if (first) std::rethrow_exception(first);
}

std::string url_redact(const std::string &url) {
    std::string out = url;
    // user:password@host
    const size_t scheme = out.find("://");
    const size_t host_start = scheme == std::string::npos ? 0 : scheme + 3;
    const size_t path_start = out.find_first_of("/?#", host_start);
    const size_t at = out.rfind('@', path_start == std::string::npos ? out.size() : path_start);
    if (at != std::string::npos && at >= host_start) out.erase(host_start, at + 1 - host_start);
    // ?api_key=...&token=...
    const size_t q = out.find('?');
    if (q == std::string::npos) return out;
    std::string query = out.substr(q + 1), rebuilt;
    size_t pos = 0;
    while (pos <= query.size()) {
        size_t amp = query.find('&', pos);
        if (amp == std::string::npos) amp = query.size();
        std::string param = query.substr(pos, amp - pos);
        const size_t eq = param.find('=');
        std::string name = param.substr(0, eq);
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return std::tolower(c); });
        if (eq != std::string::npos &&
            (name.find("key") != std::string::npos || name.find("token") != std::string::npos ||
             name.find("secret") != std::string::npos || name == "sig"))
            param = param.substr(0, eq + 1) + "***";
        rebuilt += (rebuilt.empty() ? "" : "&") + param;
        pos = amp + 1;
    }
    return out.substr(0, q + 1) + rebuilt;
}

std::string text_redact(std::string text, const std::string &secret) {
    if (secret.empty()) return text;
    for (size_t p = text.find(secret); p != std::string::npos; p = text.find(secret, p + 3))
        text.replace(p, secret.size(), "***");
    return text;
}

std::string api_key_from_env(const std::string &variable) {
    const char *v = std::getenv(variable.c_str());
    if (!v || !*v)
        throw InputError("environment variable " + variable +
                         " is not set; export it with your API key (difr never stores or prints it)");
    return v;
}

}  // namespace difr
