// The run store of provider audits (SQLite): every provider answer is written the moment it arrives and
// every reference result when it is computed, keyed by a hash of what was asked, so that re-running an
// audit continues where a crash or Ctrl-C stopped it, with nothing lost and nothing asked twice.
// API keys are never part of a request identity, a stored request or anything else in the file.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "difr/metrics.h"

struct sqlite3;

namespace difr {

struct StoredResponse {
    std::string key;           // request_key(...)
    std::string target;        // provider label in the audit
    std::string model;         // model name sent to the endpoint
    int64_t prompt_index = 0;  // index in the prompt set
    std::string sampling_json;
    std::string request_json;  // the body that was sent (it holds no key)
    std::string body;          // the answer as received
    std::string content, reasoning, finish_reason, answered_by;
    std::optional<std::vector<int32_t>> provider_token_ids;
    int32_t attempts = 1;
};

struct StoredReference {
    std::string key;           // reference_key(...)
    std::string response_key;  // the provider answer these tokens came from
    std::string reference;     // "local:<model sha256>" or "fireworks_echo:<url> <model> k=5"
    std::vector<int32_t> prompt_token_ids, output_token_ids;
    std::vector<TokenMetrics> metrics;  // one per output token
};

class RunStore {
public:
    // Opens or creates the store. Throws InputError naming the file when it cannot be opened, is not a difr
    // run store (another SQLite database, or not SQLite at all), or is a store of another format version.
    explicit RunStore(const std::string &path);
    ~RunStore();
    RunStore(const RunStore &) = delete;
    RunStore &operator=(const RunStore &) = delete;

    const std::string &path() const { return path_; }

    // Each put is its own committed transaction. Returns false (and changes nothing) when the key is
    // already stored, so a resumed run cannot duplicate a row. Safe to call from several threads.
    bool response_put(const StoredResponse &r);
    std::optional<StoredResponse> response_get(const std::string &key) const;
    bool reference_put(const StoredReference &r);
    std::optional<StoredReference> reference_get(const std::string &key) const;

    int64_t response_count() const;
    int64_t reference_count() const;

private:
    void format_check();  // throws InputError unless the file is new or a store of this format

    std::string path_;
    sqlite3 *db_ = nullptr;
    mutable std::mutex mu_;
};

// SHA-256 (hex) of the request identity: target, endpoint, model, prompt index, the messages themselves and
// the sampling settings. The same audit run again gives the same keys; any change gives new ones.
std::string request_key(const std::string &target, const std::string &base_url, const std::string &model,
                        int64_t prompt_index, const std::string &messages_json,
                        const std::string &sampling_json, int32_t max_tokens);
// SHA-256 (hex) of a reference result's identity: the reference, the sampling it verifies under and the
// exact token ids.
std::string reference_key(const std::string &reference, const std::string &sampling_json,
                          const std::vector<int32_t> &prompt, const std::vector<int32_t> &output);

}  // namespace difr
