#include "difr/store.h"

#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "difr/error.h"
#include "difr/results.h"

namespace difr {

using json = nlohmann::json;

namespace {

// The format this difr reads and writes. A change to what the tables mean takes a new number.
constexpr const char *kStoreFormat = "difr-run-store 1";

constexpr const char *kSchema = R"sql(
CREATE TABLE IF NOT EXISTS difr_store (name TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO difr_store VALUES ('format', 'difr-run-store 1');
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    target TEXT NOT NULL,
    model TEXT NOT NULL,
    prompt_index INTEGER NOT NULL,
    sampling TEXT NOT NULL,
    request TEXT NOT NULL,
    body TEXT NOT NULL,
    content TEXT NOT NULL,
    reasoning TEXT NOT NULL,
    finish_reason TEXT NOT NULL,
    answered_by TEXT NOT NULL,
    provider_token_ids TEXT,
    attempts INTEGER NOT NULL,
    stored_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')));
CREATE TABLE IF NOT EXISTS reference_rows (
    key TEXT PRIMARY KEY,
    response_key TEXT NOT NULL,
    reference TEXT NOT NULL,
    prompt_token_ids TEXT NOT NULL,
    output_token_ids TEXT NOT NULL,
    metrics TEXT NOT NULL,
    stored_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')));
)sql";

// A prepared statement that finalises itself.
class Stmt {
public:
    Stmt(sqlite3 *db, const char *sql, const std::string &path) {
        if (sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) != SQLITE_OK)
            throw InputError("run store '" + path + "': " + sqlite3_errmsg(db));
    }
    ~Stmt() { sqlite3_finalize(s_); }
    sqlite3_stmt *get() { return s_; }
    void text(int i, const std::string &v) {
        sqlite3_bind_text(s_, i, v.data(), (int)v.size(), SQLITE_TRANSIENT);
    }
    void integer(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); }
    void null(int i) { sqlite3_bind_null(s_, i); }
    std::string col_text(int i) {
        const unsigned char *t = sqlite3_column_text(s_, i);
        return t ? std::string((const char *)t, (size_t)sqlite3_column_bytes(s_, i)) : std::string();
    }

private:
    sqlite3_stmt *s_ = nullptr;
};

// A float that may be infinite: JSON has no inf, so +inf/-inf are written as null and the reader knows the
// sign from the field (margin and ranks are +inf, logprob -inf).
json float_json(float v) {
    return std::isfinite(v) ? json(v) : json(nullptr);
}
float float_from(const json &v, float if_null) {
    return v.is_null() ? if_null : v.get<float>();
}

std::string metrics_to_json(const std::vector<TokenMetrics> &ms) {
    json a = json::array();
    for (const TokenMetrics &m : ms)
        a.push_back({m.exact_match ? 1 : 0, m.predicted, float_json(m.prob), float_json(m.margin),
                     float_json(m.logit_rank), float_json(m.gumbel_rank), float_json(m.logprob)});
    return a.dump();
}

std::vector<TokenMetrics> metrics_from_json(const std::string &text) {
    constexpr float inf = std::numeric_limits<float>::infinity();
    std::vector<TokenMetrics> out;
    for (const json &r : json::parse(text)) {
        TokenMetrics m;
        m.exact_match = r[0].get<int>() != 0;
        m.predicted = r[1].get<int32_t>();
        m.prob = float_from(r[2], 0.0f);
        m.margin = float_from(r[3], inf);
        m.logit_rank = float_from(r[4], inf);
        m.gumbel_rank = float_from(r[5], inf);
        m.logprob = float_from(r[6], -inf);
        out.push_back(m);
    }
    return out;
}

}  // namespace

RunStore::RunStore(const std::string &path) : path_(path) {
    if (sqlite3_open_v2(path.c_str(), &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK) {
        const std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
        sqlite3_close(db_);
        throw InputError("cannot open run store '" + path + "': " + msg);
    }
    sqlite3_busy_timeout(db_, 10000);
    // The file must be a difr run store of this format, or new: the schema is never added to someone else's
    // database, and a store of another version is refused rather than read with the wrong meaning.
    try {
        format_check();
    } catch (...) {
        sqlite3_close(db_);
        db_ = nullptr;
        throw;
    }
    // WAL: a committed row survives a crash or SIGKILL of this process; readers never block the writer.
    char *err = nullptr;
    if (sqlite3_exec(db_, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", nullptr, nullptr, &err) !=
            SQLITE_OK ||
        sqlite3_exec(db_, kSchema, nullptr, nullptr, &err) != SQLITE_OK) {
        const std::string msg = err ? err : sqlite3_errmsg(db_);
        sqlite3_free(err);
        sqlite3_close(db_);
        db_ = nullptr;
        throw InputError("'" + path + "' is not a usable difr run store: " + msg);
    }
}

void RunStore::format_check() {
    // sqlite_master is read first: on a file that is not SQLite at all this is where it says so.
    std::vector<std::string> tables;
    {
        sqlite3_stmt *raw = nullptr;
        if (sqlite3_prepare_v2(db_, "SELECT name FROM sqlite_master WHERE type = 'table'", -1, &raw,
                               nullptr) != SQLITE_OK) {
            const std::string msg = sqlite3_errmsg(db_);
            sqlite3_finalize(raw);
            throw InputError("'" + path_ + "' is not a difr run store (" + msg + ")");
        }
        int rc;
        while ((rc = sqlite3_step(raw)) == SQLITE_ROW)
            tables.emplace_back((const char *)sqlite3_column_text(raw, 0));
        const std::string msg = sqlite3_errmsg(db_);
        sqlite3_finalize(raw);
        if (rc != SQLITE_DONE) throw InputError("'" + path_ + "' is not a difr run store (" + msg + ")");
    }
    if (tables.empty()) return;  // a new store
    if (std::find(tables.begin(), tables.end(), "difr_store") == tables.end())
        throw InputError("'" + path_ +
                         "' is an SQLite database but not a difr run store (it has no difr_store "
                         "table); give --store a new file");
    Stmt s(db_, "SELECT value FROM difr_store WHERE name = 'format'", path_);
    const std::string format = sqlite3_step(s.get()) == SQLITE_ROW ? s.col_text(0) : "";
    if (format != kStoreFormat)
        throw InputError(
            "'" + path_ + "' is a run store of format '" + format + "'; this difr reads '" + kStoreFormat +
            "'. Use the difr version that wrote it, or start a new store (another --store or --out)");
}

RunStore::~RunStore() {
    if (db_) sqlite3_close(db_);
}

bool RunStore::response_put(const StoredResponse &r) {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s(db_,
           "INSERT OR IGNORE INTO responses (key, target, model, prompt_index, sampling, request, body, "
           "content, "
           "reasoning, finish_reason, answered_by, provider_token_ids, attempts) "
           "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
           path_);
    s.text(1, r.key);
    s.text(2, r.target);
    s.text(3, r.model);
    s.integer(4, r.prompt_index);
    s.text(5, r.sampling_json);
    s.text(6, r.request_json);
    s.text(7, r.body);
    s.text(8, r.content);
    s.text(9, r.reasoning);
    s.text(10, r.finish_reason);
    s.text(11, r.answered_by);
    if (r.provider_token_ids)
        s.text(12, json(*r.provider_token_ids).dump());
    else
        s.null(12);
    s.integer(13, r.attempts);
    if (sqlite3_step(s.get()) != SQLITE_DONE)
        throw InputError("run store '" + path_ + "': cannot store a response: " + sqlite3_errmsg(db_));
    return sqlite3_changes(db_) == 1;
}

std::optional<StoredResponse> RunStore::response_get(const std::string &key) const {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s(db_,
           "SELECT target, model, prompt_index, sampling, request, body, content, reasoning, finish_reason, "
           "answered_by, provider_token_ids, attempts FROM responses WHERE key = ?",
           path_);
    s.text(1, key);
    if (sqlite3_step(s.get()) != SQLITE_ROW) return std::nullopt;
    StoredResponse r;
    r.key = key;
    r.target = s.col_text(0);
    r.model = s.col_text(1);
    r.prompt_index = sqlite3_column_int64(s.get(), 2);
    r.sampling_json = s.col_text(3);
    r.request_json = s.col_text(4);
    r.body = s.col_text(5);
    r.content = s.col_text(6);
    r.reasoning = s.col_text(7);
    r.finish_reason = s.col_text(8);
    r.answered_by = s.col_text(9);
    if (sqlite3_column_type(s.get(), 10) != SQLITE_NULL)
        r.provider_token_ids = json::parse(s.col_text(10)).get<std::vector<int32_t>>();
    r.attempts = sqlite3_column_int(s.get(), 11);
    return r;
}

bool RunStore::reference_put(const StoredReference &r) {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s(db_,
           "INSERT OR IGNORE INTO reference_rows (key, response_key, reference, prompt_token_ids, "
           "output_token_ids, metrics) VALUES (?,?,?,?,?,?)",
           path_);
    s.text(1, r.key);
    s.text(2, r.response_key);
    s.text(3, r.reference);
    s.text(4, json(r.prompt_token_ids).dump());
    s.text(5, json(r.output_token_ids).dump());
    s.text(6, metrics_to_json(r.metrics));
    if (sqlite3_step(s.get()) != SQLITE_DONE)
        throw InputError("run store '" + path_ + "': cannot store a reference row: " + sqlite3_errmsg(db_));
    return sqlite3_changes(db_) == 1;
}

std::optional<StoredReference> RunStore::reference_get(const std::string &key) const {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s(db_,
           "SELECT response_key, reference, prompt_token_ids, output_token_ids, metrics FROM reference_rows "
           "WHERE key = ?",
           path_);
    s.text(1, key);
    if (sqlite3_step(s.get()) != SQLITE_ROW) return std::nullopt;
    StoredReference r;
    r.key = key;
    r.response_key = s.col_text(0);
    r.reference = s.col_text(1);
    r.prompt_token_ids = json::parse(s.col_text(2)).get<std::vector<int32_t>>();
    r.output_token_ids = json::parse(s.col_text(3)).get<std::vector<int32_t>>();
    r.metrics = metrics_from_json(s.col_text(4));
    return r;
}

int64_t RunStore::response_count() const {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s(db_, "SELECT COUNT(*) FROM responses", path_);
    sqlite3_step(s.get());
    return sqlite3_column_int64(s.get(), 0);
}

int64_t RunStore::reference_count() const {
    std::lock_guard<std::mutex> lock(mu_);
    Stmt s(db_, "SELECT COUNT(*) FROM reference_rows", path_);
    sqlite3_step(s.get());
    return sqlite3_column_int64(s.get(), 0);
}

std::string request_key(const std::string &target, const std::string &base_url, const std::string &model,
                        int64_t prompt_index, const std::string &messages_json,
                        const std::string &sampling_json, int32_t max_tokens) {
    const json id = {{"target", target},
                     {"base_url", base_url},
                     {"model", model},
                     {"prompt_index", prompt_index},
                     {"messages", messages_json},
                     {"sampling", sampling_json},
                     {"max_tokens", max_tokens}};
    return text_sha256(id.dump());
}

std::string reference_key(const std::string &reference, const std::string &sampling_json,
                          const std::vector<int32_t> &prompt, const std::vector<int32_t> &output) {
    const json id = {
        {"reference", reference}, {"sampling", sampling_json}, {"prompt", prompt}, {"output", output}};
    return text_sha256(id.dump());
}

}  // namespace difr
