// Shared by the targets that fuzz `difr serve`'s request bodies (fuzz_serve_completions,
// fuzz_prover_request): the tiny model they answer with, and the contract every answer is held to.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "../engine/tiny_model.h"
#include "difr/server.h"
#include "fuzz_common.h"

namespace difr::fuzz {

// The engine settings of the service: one thread, small batches.
inline EngineSettings fuzz_service_settings() {
    EngineSettings settings;
    settings.n_threads = 1;
    settings.n_batch = 32;
    return settings;
}

// A tiny model written at start-up into a temporary directory named after TAG, loaded, and the file removed.
inline std::unique_ptr<Model> fuzz_service_model(const std::string &tag) {
    std::string dir = std::filesystem::temp_directory_path().string() + "/difr-fuzz-" + tag + "-XXXXXX";
    if (!mkdtemp(dir.data())) fuzz_fail("cannot create a temporary directory");
    const std::string path = dir + "/tiny.gguf";
    test::TinyModelSpec spec;
    spec.n_vocab = 400;
    spec.n_ctx_train = 96;  // prompts past the context are cheap to make
    test::tiny_model_write(path, spec);
    std::unique_ptr<Model> model = Model::load(path, fuzz_service_settings());
    std::filesystem::remove_all(dir);  // loaded: the file is no longer needed
    return model;
}

// The answer to a request body, held to the contract: the service never throws (ENDPOINT names it in the
// failure), and answers JSON, either 200 with choices[0] and usage or 400 with an OpenAI-style error message.
// Returns the answer's status and parsed body.
template <class Fn>
std::pair<int, nlohmann::json> fuzz_service_answer(const std::string &endpoint, Fn &&answer) {
    HttpReply r;
    try {
        r = answer();
    } catch (const std::exception &e) {
        fuzz_fail(endpoint + " threw: " + e.what());
    }
    nlohmann::json body;
    try {
        body = nlohmann::json::parse(r.body);
    } catch (const nlohmann::json::exception &) {
        fuzz_fail("the answer is not JSON: " + r.body.substr(0, 200));
    }
    if (r.status == 200) {
        if (!body.contains("choices") || !body["choices"].is_array() || body["choices"].size() != 1 ||
            !body.contains("usage"))
            fuzz_fail("a 200 answer without choices[0] or usage: " + r.body.substr(0, 200));
    } else if (r.status == 400) {
        if (!body.contains("error") || !body["error"]["message"].is_string() ||
            body["error"]["message"].get<std::string>().empty())
            fuzz_fail("a 400 answer without an error message: " + r.body.substr(0, 200));
    } else {
        fuzz_fail("HTTP " + std::to_string(r.status) + " for a request body: " + r.body.substr(0, 200));
    }
    return {r.status, std::move(body)};
}

}  // namespace difr::fuzz
