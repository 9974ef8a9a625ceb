// The run store: rows survive reopening (resume), a key is stored once (no duplicates), infinite metrics
// round-trip, keys of requests are stable, other files (not SQLite, another database, another format) are
// refused.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <thread>

#include "difr/error.h"
#include "difr/store.h"

namespace difr {
namespace {

namespace fs = std::filesystem;

class StoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("difr-store-" + std::to_string(::getpid()) + "-" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    std::string path() const { return (dir_ / "runs.sqlite").string(); }
    fs::path dir_;
};

StoredResponse response(const std::string &key, int64_t index) {
    StoredResponse r;
    r.key = key;
    r.target = "groq";
    r.model = "m";
    r.prompt_index = index;
    r.sampling_json = R"({"temperature":0})";
    r.request_json = R"({"model":"m"})";
    r.body = R"({"choices":[]})";
    r.content = "Paris";
    r.reasoning = "think";
    r.finish_reason = "stop";
    r.answered_by = "Groq";
    r.attempts = 2;
    return r;
}

TEST_F(StoreTest, ResponsesSurviveReopeningAndAreStoredOnce) {
    {
        RunStore s(path());
        StoredResponse a = response("k1", 0);
        a.provider_token_ids = std::vector<int32_t>{5, 6, 7};
        EXPECT_TRUE(s.response_put(a));
        EXPECT_TRUE(s.response_put(response("k2", 1)));
        StoredResponse again = response("k1", 0);
        again.content = "Lyon";  // a second answer for the same request must not replace or join the first
        EXPECT_FALSE(s.response_put(again));
        EXPECT_EQ(s.response_count(), 2);
    }
    RunStore s(path());  // a resumed run
    EXPECT_EQ(s.response_count(), 2);
    const auto a = s.response_get("k1");
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->content, "Paris");
    EXPECT_EQ(a->reasoning, "think");
    EXPECT_EQ(a->answered_by, "Groq");
    EXPECT_EQ(a->attempts, 2);
    EXPECT_EQ(a->prompt_index, 0);
    EXPECT_EQ(a->provider_token_ids, (std::vector<int32_t>{5, 6, 7}));
    EXPECT_FALSE(s.response_get("k2")->provider_token_ids.has_value());
    EXPECT_FALSE(s.response_get("k3").has_value());
}

TEST_F(StoreTest, ReferenceRowsKeepInfiniteMetrics) {
    constexpr float inf = std::numeric_limits<float>::infinity();
    StoredReference r;
    r.key = "r1";
    r.response_key = "k1";
    r.reference = "local:abc";
    r.prompt_token_ids = {1, 2};
    r.output_token_ids = {3, 4};
    r.metrics = {{true, 3, 1.0f, 0.0f, 0.0f, 0.0f, -0.25f}, {false, 9, 0.0f, inf, 5.0f, inf, -inf}};
    {
        RunStore s(path());
        EXPECT_TRUE(s.reference_put(r));
        EXPECT_FALSE(s.reference_put(r));
    }
    RunStore s(path());
    EXPECT_EQ(s.reference_count(), 1);
    const auto g = s.reference_get("r1");
    ASSERT_TRUE(g.has_value());
    EXPECT_EQ(g->output_token_ids, r.output_token_ids);
    ASSERT_EQ(g->metrics.size(), 2u);
    EXPECT_TRUE(g->metrics[0].exact_match);
    EXPECT_EQ(g->metrics[0].logprob, -0.25f);
    EXPECT_FALSE(g->metrics[1].exact_match);
    EXPECT_EQ(g->metrics[1].predicted, 9);
    EXPECT_EQ(g->metrics[1].margin, inf);
    EXPECT_EQ(g->metrics[1].gumbel_rank, inf);
    EXPECT_EQ(g->metrics[1].logprob, -inf);
    EXPECT_EQ(g->metrics[1].logit_rank, 5.0f);
}

TEST_F(StoreTest, ConcurrentWritersLoseNothing) {
    RunStore s(path());
    std::vector<std::thread> ts;
    for (int t = 0; t < 4; ++t)
        ts.emplace_back([&, t] {
            for (int i = 0; i < 25; ++i)
                s.response_put(response("t" + std::to_string(t) + "-" + std::to_string(i), i));
        });
    for (auto &t : ts) t.join();
    EXPECT_EQ(s.response_count(), 100);
}

TEST_F(StoreTest, OtherFilesAreRefused) {
    const std::string p = (dir_ / "notes.txt").string();
    std::ofstream(p) << "this is not a database, just some text that is long enough to have a header\n";
    try {
        RunStore s(p);
        FAIL();
    } catch (const InputError &e) {
        EXPECT_NE(std::string(e.what()).find("notes.txt' is not a difr run store (file is not a database)"),
                  std::string::npos)
            << e.what();
    }
}

// The tables of a store are never added to someone else's database.
TEST_F(StoreTest, AnotherSqliteDatabaseIsRefusedAndLeftAsItWas) {
    const std::string p = (dir_ / "other.sqlite").string();
    sqlite3 *db = nullptr;
    ASSERT_EQ(sqlite3_open(p.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE notes (t TEXT)", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
    try {
        RunStore s(p);
        FAIL();
    } catch (const InputError &e) {
        EXPECT_NE(std::string(e.what()).find("other.sqlite' is an SQLite database but not a difr run store"),
                  std::string::npos)
            << e.what();
    }
    ASSERT_EQ(sqlite3_open(p.c_str(), &db), SQLITE_OK);
    sqlite3_stmt *st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT group_concat(name) FROM sqlite_master", -1, &st, nullptr),
              SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_STREQ((const char *)sqlite3_column_text(st, 0), "notes");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

// A store written by a difr whose tables mean something else (another format number) is refused, not misread.
TEST_F(StoreTest, AnotherFormatVersionIsRefused) {
    { RunStore s(path()); }
    sqlite3 *db = nullptr;
    ASSERT_EQ(sqlite3_open(path().c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "UPDATE difr_store SET value = 'difr-run-store 2' WHERE name = 'format'",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
    try {
        RunStore s(path());
        FAIL();
    } catch (const InputError &e) {
        EXPECT_NE(std::string(e.what()).find("is a run store of format 'difr-run-store 2'; this difr reads "
                                             "'difr-run-store 1'"),
                  std::string::npos)
            << e.what();
    }
}

TEST(StoreKeys, StableAndSensitiveToEveryPart) {
    const std::string k = request_key("groq", "https://openrouter.ai/api/v1", "m", 3, "[msgs]", "{T=0}", 100);
    EXPECT_EQ(k.size(), 64u);
    EXPECT_EQ(k, request_key("groq", "https://openrouter.ai/api/v1", "m", 3, "[msgs]", "{T=0}", 100));
    EXPECT_NE(k, request_key("together", "https://openrouter.ai/api/v1", "m", 3, "[msgs]", "{T=0}", 100));
    EXPECT_NE(k, request_key("groq", "https://openrouter.ai/api/v1", "m", 4, "[msgs]", "{T=0}", 100));
    EXPECT_NE(k, request_key("groq", "https://openrouter.ai/api/v1", "m", 3, "[other]", "{T=0}", 100));
    EXPECT_NE(k, request_key("groq", "https://openrouter.ai/api/v1", "m", 3, "[msgs]", "{T=1}", 100));
    EXPECT_NE(k, request_key("groq", "https://openrouter.ai/api/v1", "m", 3, "[msgs]", "{T=0}", 200));
    const std::string r = reference_key("local:abc", "{T=0}", {1, 2}, {3});
    EXPECT_NE(r, reference_key("local:abc", "{T=0}", {1, 2}, {4}));
    EXPECT_NE(r, reference_key("local:abd", "{T=0}", {1, 2}, {3}));
}

}  // namespace
}  // namespace difr
