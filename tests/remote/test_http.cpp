// The HTTP layer against an in-process cpp-httplib server on loopback: retries, Retry-After, timeouts,
// non-retryable statuses, error messages and key redaction; plus the policy's pure pieces.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "difr/error.h"
#include "difr/http.h"
#include "local_server.h"

namespace difr {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

HttpOptions quick_options() {
    HttpOptions o;
    o.connect_timeout_s = 2;
    o.timeout_s = 5;
    o.max_attempts = 4;
    o.backoff_initial_s = 0.01;
    o.backoff_max_s = 0.05;
    o.on_retry = [](const std::string &) {};
    return o;
}

TEST(RetryAfter, DeltaSecondsAndHttpDates) {
    EXPECT_EQ(retry_after_parse("120", 0), 120.0);
    EXPECT_EQ(retry_after_parse("0", 0), 0.0);
    // RFC 9110's example date is 1445412480 in Unix time.
    EXPECT_EQ(retry_after_parse("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480 - 30), 30.0);
    EXPECT_EQ(retry_after_parse("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480 + 100), 0.0);  // already past
    EXPECT_EQ(retry_after_parse("", 0), std::nullopt);
    EXPECT_EQ(retry_after_parse("soon", 0), std::nullopt);
    EXPECT_EQ(retry_after_parse("-5", 0), std::nullopt);
}

TEST(Backoff, ExponentialWithJitterAndCap) {
    HttpOptions o;
    o.backoff_initial_s = 1.0;
    o.backoff_max_s = 10.0;
    EXPECT_DOUBLE_EQ(backoff_delay(1, o, 0.0), 0.5);
    EXPECT_DOUBLE_EQ(backoff_delay(1, o, 0.5), 0.75);
    EXPECT_DOUBLE_EQ(backoff_delay(3, o, 0.0), 2.0);  // 1 * 2^2, halved by the lowest jitter
    EXPECT_DOUBLE_EQ(backoff_delay(3, o, 1.0), 4.0);
    EXPECT_DOUBLE_EQ(backoff_delay(10, o, 1.0), 10.0);  // capped
    EXPECT_DOUBLE_EQ(backoff_delay(10, o, 0.0), 5.0);
}

TEST(Retryable, StatusClasses) {
    for (long s : {408L, 429L, 500L, 502L, 503L, 504L, 599L}) EXPECT_TRUE(http_status_retryable(s)) << s;
    for (long s : {200L, 400L, 401L, 403L, 404L, 413L, 422L}) EXPECT_FALSE(http_status_retryable(s)) << s;
}

TEST(Redact, UrlsAndText) {
    EXPECT_EQ(url_redact("https://user:pw@api.example.com/v1/chat?api_key=abc&x=1&token=t"),
              "https://api.example.com/v1/chat?api_key=***&x=1&token=***");
    EXPECT_EQ(url_redact("http://127.0.0.1:8080/v1"), "http://127.0.0.1:8080/v1");
    EXPECT_EQ(url_redact("http://host/a@b"), "http://host/a@b");  // an @ in the path is not userinfo
    EXPECT_EQ(text_redact("key sk-123 and sk-123 again", "sk-123"), "key *** and *** again");
    EXPECT_EQ(text_redact("nothing", ""), "nothing");
}

TEST(ApiKey, MissingVariableIsNamedValueNever) {
    unsetenv("DIFR_TEST_UNSET_KEY");
    try {
        api_key_from_env("DIFR_TEST_UNSET_KEY");
        FAIL();
    } catch (const InputError &e) {
        EXPECT_NE(std::string(e.what()).find("DIFR_TEST_UNSET_KEY is not set"), std::string::npos);
    }
    setenv("DIFR_TEST_SET_KEY", "sk-abc", 1);
    EXPECT_EQ(api_key_from_env("DIFR_TEST_SET_KEY"), "sk-abc");
}

TEST(HttpSend, RetriesTooManyRequestsHonouringRetryAfter) {
    LocalServer s;
    std::atomic<int> hits{0};
    s.server().Post("/v1/x", [&](const httplib::Request &, httplib::Response &res) {
        if (++hits <= 2) {
            res.status = 429;
            res.set_header("Retry-After", "1");
            res.set_content(R"({"error":"slow down"})", "application/json");
            return;
        }
        res.set_content(R"({"ok":true})", "application/json");
    });
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::string> log;
    HttpOptions o = quick_options();
    o.on_retry = [&](const std::string &line) { log.push_back(line); };
    const HttpResponse r = http_send({"POST", s.url("/v1/x"), "{}", ""}, o);
    const double secs = seconds_since(t0);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, R"({"ok":true})");
    EXPECT_EQ(r.attempts, 3);
    EXPECT_EQ(hits.load(), 3);
    // Two Retry-After waits of 1 s, although the backoff alone would have waited at most 0.05 s.
    EXPECT_GE(secs, 2.0);
    EXPECT_LT(secs, 4.0);
    ASSERT_EQ(log.size(), 2u);
    EXPECT_NE(log[0].find("HTTP 429"), std::string::npos) << log[0];
    EXPECT_NE(log[0].find("retry 2/4 in 1.0 s"), std::string::npos) << log[0];
}

TEST(HttpSend, RetriesServerErrorsThenGivesUp) {
    LocalServer s;
    std::atomic<int> hits{0};
    s.server().Post("/v1/x", [&](const httplib::Request &, httplib::Response &res) {
        ++hits;
        res.status = 503;
        res.set_content("upstream overloaded", "text/plain");
    });
    HttpOptions o = quick_options();
    o.max_attempts = 3;
    try {
        http_send({"POST", s.url("/v1/x"), "{}", ""}, o);
        FAIL() << "expected HttpError";
    } catch (const HttpError &e) {
        EXPECT_EQ(e.status(), 503);
        const std::string m = e.what();
        EXPECT_NE(m.find("POST " + s.url("/v1/x") + ": HTTP 503: upstream overloaded"), std::string::npos)
            << m;
        EXPECT_NE(m.find("gave up after 3 attempts"), std::string::npos) << m;
    }
    EXPECT_EQ(hits.load(), 3);
}

TEST(HttpSend, ServerErrorOnceThenSuccess) {
    LocalServer s;
    std::atomic<int> hits{0};
    s.server().Post("/v1/x", [&](const httplib::Request &, httplib::Response &res) {
        if (++hits == 1) {
            res.status = 500;
            return;
        }
        res.set_content("{}", "application/json");
    });
    const HttpResponse r = http_send({"POST", s.url("/v1/x"), "{}", ""}, quick_options());
    EXPECT_EQ(r.attempts, 2);
}

TEST(HttpSend, ClientErrorsAreNotRetried) {
    LocalServer s;
    std::atomic<int> hits{0};
    s.server().Post("/v1/x", [&](const httplib::Request &, httplib::Response &res) {
        ++hits;
        res.status = 400;
        res.set_content(R"({"error":{"message":"token id 99999 is outside the vocabulary"}})",
                        "application/json");
    });
    try {
        http_send({"POST", s.url("/v1/x"), "{}", ""}, quick_options());
        FAIL();
    } catch (const HttpError &e) {
        EXPECT_EQ(e.status(), 400);
        EXPECT_NE(std::string(e.what()).find("HTTP 400: {\"error\":{\"message\":\"token id 99999"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_EQ(hits.load(), 1);
}

TEST(HttpSend, StallPastTheTimeoutIsRetriedThenReported) {
    LocalServer s;
    std::atomic<int> hits{0};
    s.server().Post("/v1/x", [&](const httplib::Request &, httplib::Response &res) {
        ++hits;
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));
        res.set_content("{}", "application/json");
    });
    HttpOptions o = quick_options();
    o.timeout_s = 0.3;
    o.max_attempts = 2;
    const auto t0 = std::chrono::steady_clock::now();
    try {
        http_send({"POST", s.url("/v1/x"), "{}", ""}, o);
        FAIL();
    } catch (const HttpError &e) {
        EXPECT_EQ(e.status(), 0);
        EXPECT_NE(std::string(e.what()).find("timeout"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("gave up after 2 attempts"), std::string::npos) << e.what();
    }
    EXPECT_LT(seconds_since(t0), 1.4);  // two 0.3 s timeouts and a short backoff, not the 1.5 s stall
    EXPECT_EQ(hits.load(), 2);
}

TEST(HttpSend, RefusedConnectionHasNoStatus) {
    int port;
    {
        LocalServer s;  // a port that was free a moment ago and is closed now
        port = std::stoi(s.url("").substr(17));
    }
    HttpOptions o = quick_options();
    o.max_attempts = 2;
    try {
        http_send({"POST", "http://127.0.0.1:" + std::to_string(port) + "/v1/x", "{}", ""}, o);
        FAIL();
    } catch (const HttpError &e) {
        EXPECT_EQ(e.status(), 0);
        EXPECT_NE(std::string(e.what()).find("gave up after 2 attempts"), std::string::npos) << e.what();
    }
}

TEST(HttpSend, KeyIsSentButNeverReported) {
    LocalServer s;
    const std::string key = "sk-test-5f0c1b7e9d";
    std::atomic<int> hits{0};
    // A hostile or careless server that echoes the Authorization header in its error bodies.
    s.server().Post("/v1/x", [&](const httplib::Request &req, httplib::Response &res) {
        ++hits;
        res.status = hits == 1 ? 500 : 401;
        res.set_content("bad credentials: " + req.get_header_value("Authorization"), "text/plain");
    });
    std::vector<std::string> log;
    HttpOptions o = quick_options();
    o.on_retry = [&](const std::string &line) { log.push_back(line); };
    try {
        http_send({"POST", s.url("/v1/x"), "{}", key}, o);
        FAIL();
    } catch (const HttpError &e) {
        const std::string m = e.what();
        EXPECT_EQ(m.find(key), std::string::npos) << m;
        EXPECT_NE(m.find("bad credentials: Bearer ***"), std::string::npos) << m;  // the header did arrive
    }
    ASSERT_EQ(log.size(), 1u);
    EXPECT_EQ(log[0].find(key), std::string::npos) << log[0];
    EXPECT_NE(log[0].find("Bearer ***"), std::string::npos) << log[0];
}

TEST(ParallelFor, BoundedConcurrencyEveryIndexOnce) {
    std::atomic<int> running{0}, peak{0};
    std::vector<std::atomic<int>> seen(50);
    parallel_for(50, 3, [&](size_t i) {
        const int now = ++running;
        int p = peak.load();
        while (now > p && !peak.compare_exchange_weak(p, now)) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        ++seen[i];
        --running;
    });
    EXPECT_EQ(peak.load(), 3);
    for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i].load(), 1) << i;
}

TEST(ParallelFor, FirstErrorStopsNewWork) {
    std::atomic<int> started{0};
    EXPECT_THROW(parallel_for(1000, 2,
                              [&](size_t i) {
                                  ++started;
                                  if (i == 3) throw RemoteError("boom");
                                  std::this_thread::sleep_for(std::chrono::milliseconds(1));
                              }),
                 RemoteError);
    EXPECT_LT(started.load(), 10);
}

}  // namespace
}  // namespace difr
