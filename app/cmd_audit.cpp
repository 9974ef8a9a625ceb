// difr audit: generate through providers, re-tokenise, verify against a reference, report an AuditResult
// per provider (token-difr's audit_provider over several providers).
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "app.h"
#include "difr/audit.h"
#include "difr/audit_report.h"
#include "difr/error.h"
#include "difr/prompts.h"
#include "difr/results.h"

namespace difr::app {

namespace {

std::string strip_slash(std::string url) {
    while (!url.empty() && url.back() == '/') url.pop_back();
    return url;
}

// "NAME" is an OpenRouter provider (pinned, no fallbacks); "NAME=URL" is any OpenAI-compatible endpoint.
AuditTarget target_parse(const std::string &spec, const std::string &openrouter_url, const std::string &model,
                         const std::string &key_env) {
    AuditTarget t;
    const size_t eq = spec.find('=');
    if (eq == 0 || spec.empty()) throw InputError("--provider '" + spec + "': expected NAME or NAME=URL");
    if (eq == std::string::npos) {
        t.name = spec;
        t.pin_provider = spec;
        t.endpoint.base_url = strip_slash(openrouter_url);
        t.endpoint.api_key_env = key_env.empty() ? "OPENROUTER_API_KEY" : key_env;
    } else {
        t.name = spec.substr(0, eq);
        t.endpoint.base_url = strip_slash(spec.substr(eq + 1));
        t.endpoint.api_key_env = key_env;
        if (t.endpoint.base_url.rfind("http://", 0) != 0 && t.endpoint.base_url.rfind("https://", 0) != 0)
            throw InputError("--provider '" + spec + "': the URL must start with http:// or https://");
    }
    t.endpoint.model = model;
    return t;
}

// "local", "fireworks=URL" or "vllm=URL".
ReferenceSpec reference_parse(const std::string &spec, const std::string &model, const std::string &key_env,
                              int32_t topk) {
    ReferenceSpec r;
    if (spec == "local") return r;
    const size_t eq = spec.find('=');
    const std::string kind = spec.substr(0, eq);
    if (eq == std::string::npos || (kind != "fireworks" && kind != "vllm"))
        throw InputError("--reference '" + spec + "': expected local, fireworks=URL or vllm=URL");
    r.kind = ReferenceSpec::Kind::remote;
    r.wire = kind == "fireworks" ? LogprobWire::fireworks_echo : LogprobWire::vllm_prompt_logprobs;
    r.endpoint.base_url = strip_slash(spec.substr(eq + 1));
    r.endpoint.model = model;
    r.endpoint.api_key_env = key_env;
    if (key_env.empty() && r.endpoint.base_url.find("fireworks.ai") != std::string::npos)
        r.endpoint.api_key_env = "FIREWORKS_API_KEY";
    if (topk < 1) throw InputError("--reference-topk must be at least 1");
    r.topk = topk;
    return r;
}

}  // namespace

void register_audit(CLI::App &app) {
    struct Opts {
        EngineOptions engine;
        SamplingOptions sampling;
        std::string prompts_file, system, out, store, remote_model, key_env, reference = "local";
        std::string openrouter_url = "https://openrouter.ai/api/v1", reference_model, reference_key_env;
        std::vector<std::string> providers;
        int32_t limit = 0, max_tokens = 100, concurrency = 8, reference_topk = 5;
        bool vocab_only = false, logprobs = false, no_seed = false;
        double fail_below = -1.0;
        HttpOptions http;
    };
    auto o = std::make_shared<Opts>();
    CLI::App *cmd = app.add_subcommand(
        "audit", "audit providers: generate through them, re-tokenise, verify against a reference");
    add_engine_options(*cmd, o->engine);
    add_sampling_options(*cmd, o->sampling);
    cmd->add_option("--prompts", o->prompts_file, "JSONL file, one conversation per line")->required();
    cmd->add_option("--limit", o->limit, "audit only the first N conversations");
    cmd->add_option("--system", o->system, "system prompt prepended to every conversation");
    cmd->add_option("-p,--provider", o->providers,
                    "NAME: an OpenRouter provider (pinned, no fallbacks); NAME=URL: an OpenAI-compatible "
                    "endpoint such as http://127.0.0.1:8080/v1 (repeatable)")
        ->required();
    cmd->add_option("--remote-model", o->remote_model,
                    "model name sent to the providers (default: the GGUF file name without .gguf)");
    cmd->add_option("--openrouter-url", o->openrouter_url, "base URL for NAME providers")
        ->capture_default_str();
    cmd->add_option("--api-key-env", o->key_env,
                    "environment variable holding the providers' key (default: OPENROUTER_API_KEY for "
                    "OpenRouter providers, none for NAME=URL endpoints)");
    cmd->add_option("--reference", o->reference, "local, fireworks=URL or vllm=URL")->capture_default_str();
    cmd->add_option("--reference-model", o->reference_model,
                    "model name at the reference (default: --remote-model)");
    cmd->add_option("--reference-key-env", o->reference_key_env,
                    "environment variable holding the reference's key (FIREWORKS_API_KEY for fireworks.ai)");
    cmd->add_option("--reference-topk", o->reference_topk, "top logprobs per row from a remote reference")
        ->capture_default_str();
    cmd->add_flag("--vocab-only", o->vocab_only, "load only the GGUF's vocabulary (remote reference only)");
    cmd->add_option("-n,--max-tokens", o->max_tokens, "tokens per answer")->capture_default_str();
    cmd->add_option("--concurrency", o->concurrency, "requests in flight per endpoint")
        ->capture_default_str();
    cmd->add_option("--timeout", o->http.timeout_s, "seconds per request")->capture_default_str();
    cmd->add_option("--connect-timeout", o->http.connect_timeout_s, "seconds to connect")
        ->capture_default_str();
    cmd->add_option("--max-attempts", o->http.max_attempts, "tries per request (429, 5xx, timeouts)")
        ->capture_default_str();
    cmd->add_option("--backoff", o->http.backoff_initial_s, "first retry delay in seconds, doubled per retry")
        ->capture_default_str();
    cmd->add_flag("--logprobs", o->logprobs,
                  "ask providers for logprobs, to compare their token ids with the re-tokenised ones");
    cmd->add_flag("--no-seed", o->no_seed, "do not send the seed");
    cmd->add_option("-o,--out", o->out, "output directory: audit_results.json, one JSON per provider")
        ->required();
    cmd->add_option("--store", o->store,
                    "run store (SQLite; default OUT/runs.sqlite): re-runs continue from it");
    cmd->add_option("--fail-below", o->fail_below,
                    "exit with status 1 if any provider's match rate is below this")
        ->check(CLI::Range(0.0, 1.0));

    cmd->callback([o] {
        std::vector<std::vector<ChatMessage>> convs = conversations_read(o->prompts_file);
        if (o->limit > 0 && (size_t)o->limit < convs.size()) convs.resize(o->limit);
        if (!o->system.empty())
            for (auto &c : convs) c.insert(c.begin(), ChatMessage{"system", o->system});

        const std::string model_path = model_resolve(o->engine.model);
        std::string remote_model = o->remote_model;
        if (remote_model.empty()) remote_model = std::filesystem::path(model_path).stem().string();
        ReferenceSpec ref =
            reference_parse(o->reference, o->reference_model.empty() ? remote_model : o->reference_model,
                            o->reference_key_env, o->reference_topk);
        if (o->vocab_only && ref.kind == ReferenceSpec::Kind::local)
            throw InputError(
                "--vocab-only needs a remote --reference: the local reference scores with the weights");
        std::vector<AuditTarget> targets;
        for (const std::string &p : o->providers)
            targets.push_back(target_parse(p, o->openrouter_url, remote_model, o->key_env));

        std::error_code ec;
        std::filesystem::create_directories(o->out, ec);
        if (ec) throw InputError("cannot create output directory '" + o->out + "': " + ec.message());
        RunStore store(o->store.empty() ? o->out + "/runs.sqlite" : o->store);
        auto model = Model::load(model_path, o->engine.settings, o->vocab_only);

        AuditOptions a;
        a.sampling = o->sampling.params;
        a.noise = o->sampling.profile();
        a.max_tokens = o->max_tokens;
        a.concurrency = o->concurrency;
        a.send_seed = !o->no_seed;
        a.request_logprobs = o->logprobs;
        a.http = o->http;
        a.engine = o->engine.settings;

        // token-difr's multi-provider file: {"<provider>": AuditResult, ...}, rewritten after each provider
        // so that finished providers are on disk even if a later one fails.
        nlohmann::ordered_json all = nlohmann::ordered_json::object();
        std::vector<AuditResult> results;
        for (const AuditTarget &t : targets) {
            AuditResult r = audit_provider(*model, convs, t, ref, a, store);
            std::printf("%s: %s\n", t.name.c_str(), summary_audit_line(r.summary).c_str());
            const std::string one = audit_result_to_json(r);
            all[t.name] = nlohmann::ordered_json::parse(one);
            file_write_atomic(o->out + "/audit_results.json", all.dump(2) + "\n");
            AuditReportOptions report;  // the HTML report of the providers so far (docs/audit.md)
            if (o->fail_below >= 0) report.threshold = o->fail_below;
            audit_report_write(o->out + "/audit_results.json", o->out + "/report.html", report);
            results.push_back(std::move(r));
        }
        std::printf("\n%s", audit_table(results).c_str());
        for (const AuditResult &r : results) {
            const RetokenizationStats &rt = r.retokenization;
            if (rt.sequences_compared > 0)
                std::printf(
                    "%s: re-tokenisation changed the ids of %lld of %lld answers (%lld of %lld tokens)\n",
                    r.provider.c_str(), (long long)rt.sequences_changed, (long long)rt.sequences_compared,
                    (long long)rt.tokens_changed, (long long)rt.tokens_compared);
        }
        std::printf("results: %s/audit_results.json  store: %s\n", o->out.c_str(), store.path().c_str());
        if (o->fail_below >= 0)
            for (const AuditResult &r : results)
                if (r.summary.exact_match_rate < o->fail_below) {
                    std::fprintf(stderr, "difr: %s: exact-match rate %.4f is below %.4f\n",
                                 r.provider.c_str(), r.summary.exact_match_rate, o->fail_below);
                    std::exit(1);
                }
    });
}

}  // namespace difr::app
