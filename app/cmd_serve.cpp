// difr serve: the local engine as a trusted prompt-logprob reference over HTTP (docs/serve.md).
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "app.h"
#include "difr/error.h"
#include "difr/http.h"
#include "difr/server.h"

namespace difr::app {

namespace {

bool host_is_loopback(const std::string &host) {
    return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

}  // namespace

void register_serve(CLI::App &app) {
    struct Opts {
        EngineOptions engine;
        ServeOptions serve;
        std::string name, ready_file, api_key_env;
        int32_t max_top_logprobs = 20;
    };
    auto o = std::make_shared<Opts>();
    CLI::App *cmd = app.add_subcommand(
        "serve",
        "serve the local model as a reference (POST /v1/completions with prompt logprobs) and a prover "
        "(POST /v1/chat/completions with top-k logprobs, seed proofs, enforced_tokens replay)");
    add_engine_options(*cmd, o->engine);
    cmd->add_option("--host", o->serve.host, "address to listen on (0.0.0.0: every interface)")
        ->capture_default_str();
    cmd->add_option("--port", o->serve.port, "TCP port; 0 picks a free one (printed)")
        ->capture_default_str()
        ->check(CLI::Range(0, 65535));
    cmd->add_option("--served-model-name", o->name, "name in /v1/models and responses (default: file stem)");
    cmd->add_option("--max-top-logprobs", o->max_top_logprobs,
                    "largest top_logprobs / prompt_logprobs accepted")
        ->capture_default_str()
        ->check(CLI::Range(1, 1000));
    cmd->add_option("--ready-file", o->ready_file,
                    "write the port here once listening (for scripts and tests)");
    // Limits (docs/serve.md, "Limits"): every endpoint gets them from serve_http.
    cmd->add_option("--api-key-env", o->api_key_env,
                    "environment variable holding a bearer key that every request but GET /health must send");
    cmd->add_option("--max-body-bytes", o->serve.max_body_bytes, "larger request bodies get 413")
        ->capture_default_str()
        ->check(CLI::Range(size_t{1024}, size_t{1} << 34));
    cmd->add_option("--request-timeout", o->serve.request_timeout_s,
                    "seconds for a request's headers and body to arrive (else 408)")
        ->capture_default_str()
        ->check(CLI::Range(0.1, 86400.0));
    cmd->add_option("--http-threads", o->serve.http_threads, "connections served at once")
        ->capture_default_str()
        ->check(CLI::Range(1, 4096));
    cmd->add_option("--engine-wait", o->serve.engine.wait_s,
                    "seconds a request may wait for the engine (else 503)")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 1e6));
    cmd->add_option("--engine-timeout", o->serve.engine.time_s,
                    "seconds of engine work a request may take (else stopped, 413)")
        ->capture_default_str()
        ->check(CLI::Range(0.001, 1e6));
    cmd->add_flag("--prover-completions", o->serve.prover_completions,
                  "POST /v1/completions without echo or prompt_logprobs generates (the prover) instead of "
                  "answering as the one-token reference; /v1/chat/completions is always the prover");
    cmd->callback([o] {
        // The key is read before the model is loaded, so a missing variable fails at once; it is kept only
        // in ServeOptions and never printed.
        if (!o->api_key_env.empty()) o->serve.api_key = api_key_from_env(o->api_key_env);
        if (o->serve.api_key.empty() && !host_is_loopback(o->serve.host))
            std::fprintf(
                stderr,
                "difr serve: warning: listening on %s without a key: anyone who reaches it can use the "
                "engine (use --api-key-env VAR)\n",
                o->serve.host.c_str());
        const std::string path = model_resolve(o->engine.model);
        auto model = Model::load(path, o->engine.settings);
        const std::string name = o->name.empty() ? std::filesystem::path(path).stem().string() : o->name;
        ReferenceService service(*model, o->engine.settings, name, o->max_top_logprobs);
        ProverService prover(*model, o->engine.settings, name, o->max_top_logprobs);
        serve_http(
            service, o->serve,
            [&](int port) {
                std::printf("difr serve: %s (%s, context %d) on http://%s:%d\n", name.c_str(),
                            model->description().c_str(), service.context_limit(), o->serve.host.c_str(),
                            port);
                std::fflush(stdout);
                if (o->ready_file.empty()) return;
                // Written whole then renamed, so a script polling for the file never reads half a number.
                const std::string tmp = o->ready_file + ".tmp";
                {
                    std::ofstream f(tmp);
                    f << port << "\n";
                    if (!f) throw InputError("cannot write the ready file '" + o->ready_file + "'");
                }
                std::filesystem::rename(tmp, o->ready_file);
            },
            &prover);
        std::fprintf(stderr, "difr serve: stopped\n");
    });
}

}  // namespace difr::app
