// The lab runner: for each configuration and pass, the provider generates for real with the engine, the
// claimed sequences are written, and the reference verifies them with the claimed sampling. What a run
// directory holds is exactly what `difr generate` and `difr verify --out` write, so every other tool reads
// it.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "difr/error.h"
#include "difr/lab.h"
#include "difr/noise.h"
#include "difr/prompts.h"
#include "difr/provenance.h"
#include "difr/quantize.h"
#include "difr/results.h"
#include "difr/verify.h"

namespace difr {

namespace {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

bool run_complete(const std::string &dir) {
    return fs::is_regular_file(dir + "/outputs.json") && fs::is_regular_file(dir + "/tokens.jsonl") &&
           fs::is_regular_file(dir + "/summary.json");
}

ojson sampling_json(const SamplingParams &p, const std::string &noise) {
    return {{"temperature", p.temperature},
            {"top_k", p.top_k},
            {"top_p", p.top_p},
            {"seed", p.seed},
            {"noise", noise}};
}

std::vector<std::string> passes_of(const LabConfig &c) {
    if (c.greedy_pass) return {"t1", "t0"};
    return {"t1"};
}

}  // namespace

// What the provider really samples with in a pass.
SamplingParams lab_provider_sampling(const LabSpec &spec, const LabConfig &c, const std::string &pass) {
    SamplingParams p = lab_claimed(spec, pass);
    if (pass != "t1") return p;
    if (c.temperature) p.temperature = *c.temperature;
    if (c.top_p) p.top_p = *c.top_p;
    if (c.seed) p.seed = *c.seed;
    return p;
}

// Requantised models are made once and cached in env.derived_dir.
std::string lab_derived_model(const std::string &ref_path, const std::string &type,
                              const LabEnvironment &env) {
    std::string t = type;
    for (char &ch : t) ch = (char)std::tolower((unsigned char)ch);
    const std::string out = env.derived_dir + "/" + fs::path(ref_path).stem().string() + "-" + t + ".gguf";
    if (!fs::is_regular_file(out)) {
        std::error_code ec;
        fs::create_directories(env.derived_dir, ec);
        if (env.log) env.log("quantising " + ref_path + " to " + type + " -> " + out);
        quantize_model(ref_path, out, type);
    }
    return out;
}

// The model file a configuration generates with.
std::string lab_provider_model(const LabConfig &c, const std::string &ref_path, const LabEnvironment &env) {
    if (!c.model.empty()) return env.model_resolve(c.model);
    if (c.quantize.empty()) return ref_path;
    return lab_derived_model(ref_path, c.quantize, env);
}

namespace {

struct LabContext {
    const LabSpec &spec;
    const LabEnvironment &env;
    Model &ref;
    std::vector<std::vector<ChatMessage>> conversations;
    std::vector<std::vector<int32_t>> claimed_prompts;  // the reference's tokens of the claimed conversations
};

// Generates one pass with the provider and writes outputs.json (the claimed sequences) and its .meta.json.
void pass_generate(const LabContext &lc, const LabConfig &c, Model &provider, const std::string &pass,
                   const std::string &dir) {
    std::vector<std::vector<int32_t>> prompts;
    for (const auto &conv : lc.conversations) {
        std::vector<ChatMessage> m = conv;
        if (!c.system_prompt.empty()) m.insert(m.begin(), ChatMessage{"system", c.system_prompt});
        prompts.push_back(provider.chat_tokenize(m));
    }
    GenerateOptions g;
    g.sampling = lab_provider_sampling(lc.spec, c, pass);
    g.noise = *noise_profile_from_name(lc.spec.noise);
    g.max_tokens = lc.spec.max_tokens;
    g.bug = c.bug;
    GenerateStats stats;
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<TokenSequence> made = generate(provider, c.settings, prompts, g, &stats);
    const double secs = seconds_since(t0);

    // The claim: the reference's prompt tokens (no system prompt) and the provider's output. Another model's
    // output reaches the verifier as text, tokenised with the reference's vocabulary (as an API returns it).
    const bool retokenize = !c.model.empty();
    std::vector<TokenSequence> claimed(made.size());
    std::vector<std::string> texts;
    for (size_t i = 0; i < made.size(); ++i) {
        claimed[i].prompt_token_ids = lc.claimed_prompts[i];
        texts.push_back(provider.detokenize(made[i].output_token_ids));
        claimed[i].output_token_ids =
            retokenize ? lc.ref.tokenize(texts.back(), false, false) : made[i].output_token_ids;
    }
    const std::string prov = provenance_json(provider, c.settings, g.sampling, lc.spec.noise);
    sequences_write(dir + "/outputs.json", claimed, SequenceFormat::token_difr, prov, texts);
    ojson meta = ojson::parse(prov);
    meta["max_tokens"] = lc.spec.max_tokens;
    meta["system_prompt"] = c.system_prompt;
    meta["n_sequences"] = made.size();
    meta["prompt_tokens"] = stats.prompt_tokens;
    meta["generated_tokens"] = stats.generated_tokens;
    meta["seconds"] = secs;
    meta["lab_config"] = c.name;
    meta["lab_pass"] = pass;
    if (c.bug.rate > 0)
        meta["sampling_bug"] = {{"rate", c.bug.rate}, {"top", c.bug.top}, {"seed", c.bug.seed}};
    meta["retokenized_with"] = retokenize ? lc.ref.path() : "";
    file_write_atomic(dir + "/outputs.json.meta.json", meta.dump(2) + "\n");
    if (lc.env.log) {
        char buf[200];
        std::snprintf(buf, sizeof buf, "  %s-%s: generated %lld tokens in %.1f s (%.1f tok/s)",
                      c.name.c_str(), pass.c_str(), (long long)stats.generated_tokens, secs,
                      stats.generated_tokens / std::max(secs, 1e-9));
        lc.env.log(buf);
    }
}

// Verifies outputs.json against the reference with the claimed sampling: tokens.jsonl and summary.json,
// as `difr verify --out` writes them.
void pass_verify(const LabContext &lc, const LabConfig &c, const std::string &pass, const std::string &dir) {
    const std::string input = dir + "/outputs.json";
    const SequenceFile file = sequences_read(input);
    VerifyOptions v;
    v.sampling = lab_claimed(lc.spec, pass);
    v.noise = *noise_profile_from_name(lc.spec.noise);
    VerifyResult r;
    {
        TokenMetricsWriter writer(dir + "/tokens.jsonl");
        r = verify_sequences(lc.ref, lc.spec.settings, file.sequences, v, &writer);
    }
    ojson prov = ojson::parse(provenance_json(lc.ref, lc.spec.settings, v.sampling, lc.spec.noise));
    prov["input"] = input;
    prov["tokens_evaluated"] = r.stats.tokens_evaluated;
    prov["decode_calls"] = r.stats.decode_calls;
    prov["seconds"] = r.seconds;
    file_write_atomic(dir + "/summary.json", summary_to_json(r.summary, prov.dump()));
    if (lc.env.log) {
        char buf[200];
        std::snprintf(buf, sizeof buf,
                      "  %s-%s: verified %lld tokens in %.1f s: exact_match_rate %.4f, avg_margin %.4f",
                      c.name.c_str(), pass.c_str(), (long long)r.summary.total_tokens, r.seconds,
                      r.summary.exact_match_rate, r.summary.avg_margin);
        lc.env.log(buf);
    }
}

ojson config_entry(const LabConfig &c) {
    ojson e;
    e["name"] = c.name;
    e["kind"] = c.kind;
    e["role"] = c.role == LabRole::honest ? "honest" : "deviation";
    e["description"] = c.description;
    ojson passes = ojson::object();
    for (const std::string &p : passes_of(c)) passes[p] = "runs/" + c.name + "-" + p;
    e["passes"] = passes;
    if (!c.greedy_pass)
        e["skipped_passes"] = {{"t0",
                                "greedy decoding ignores temperature, top-p and the seed: the provider's "
                                "t0 run would be the reference's, token for token"}};
    return e;
}

// The part of lab.json that must agree for a lab directory to be resumed.
ojson lab_identity(const LabSpec &spec, const Model &ref, const std::string &ref_sha) {
    ojson j;
    j["lab"] = spec.name;
    j["reference"] = {{"model", ref.path()}, {"sha256", ref_sha}};
    j["claimed"] = {{"t1", sampling_json(lab_claimed(spec, "t1"), spec.noise)},
                    {"t0", sampling_json(lab_claimed(spec, "t0"), spec.noise)}};
    j["n_prompts"] = spec.n_prompts;
    j["max_tokens"] = spec.max_tokens;
    return j;
}

// Resolves a model named in the lab file now, so that a typo fails before hours of runs, naming the key.
std::string model_check(const LabSpec &spec, const LabEnvironment &env, const std::string &name,
                        const std::string &key) {
    try {
        return env.model_resolve(name);
    } catch (const InputError &e) {
        throw InputError(spec.path + ": key '" + key + "': " + e.what());
    }
}

}  // namespace

LabRunStats lab_run(const LabSpec &spec, const std::string &out_dir, const LabEnvironment &env) {
    const std::string ref_path = model_check(spec, env, spec.reference, "reference");
    for (size_t i = 0; i < spec.configs.size(); ++i)
        if (!spec.configs[i].model.empty())
            model_check(spec, env, spec.configs[i].model, "configs[" + std::to_string(i) + "].model");
    std::vector<std::vector<ChatMessage>> convs = conversations_read(spec.prompts);
    if ((int32_t)convs.size() < spec.n_prompts)
        throw InputError(spec.path + ": key 'n_prompts': " + std::to_string(spec.n_prompts) +
                         " prompts wanted, but '" + spec.prompts + "' holds only " +
                         std::to_string(convs.size()));
    convs.resize((size_t)spec.n_prompts);

    auto ref = Model::load(ref_path, spec.settings);
    const ojson identity = lab_identity(spec, *ref, file_sha256(ref_path));
    const std::string lab_json = out_dir + "/lab.json";
    ojson previous_seconds = ojson::object();
    if (fs::is_regular_file(lab_json)) {
        ojson old;
        try {
            std::ifstream in(lab_json);
            old = ojson::parse(in);
        } catch (const std::exception &e) {
            throw InputError(lab_json + " is not valid JSON (" + e.what() +
                             "); remove it or use another --out");
        }
        for (const auto &[key, value] : identity.items())
            if (!old.contains(key) || old[key] != value)
                throw InputError(out_dir + " holds another lab (its lab.json differs in '" + key +
                                 "'); use another --out directory");
        if (old.contains("seconds") && old["seconds"].is_object()) previous_seconds = old["seconds"];
    }
    std::error_code ec;
    fs::create_directories(out_dir + "/runs", ec);
    if (ec) throw InputError("cannot create '" + out_dir + "/runs': " + ec.message());

    LabContext lc{spec, env, *ref, convs, {}};
    for (const auto &conv : convs) lc.claimed_prompts.push_back(ref->chat_tokenize(conv));

    ojson doc = identity;
    doc["prompts"] = spec.prompts;
    doc["lab_file"] = spec.path;
    doc["verifier_engine"] = ojson::parse(spec.settings.to_json());
    doc["configs"] = ojson::array();
    doc["seconds"] = ojson::object();
    LabRunStats stats;
    for (const LabConfig &c : spec.configs) {
        const std::vector<std::string> passes = passes_of(c);
        bool complete = true;
        for (const std::string &p : passes)
            complete = complete && run_complete(out_dir + "/runs/" + c.name + "-" + p);
        if (complete) {
            ++stats.configs_resumed;
            if (env.log) env.log(c.name + ": complete, kept");
        } else {
            ++stats.configs_run;
            if (env.log) env.log(c.name + ": " + c.description);
            const auto t0 = std::chrono::steady_clock::now();
            std::unique_ptr<Model> provider;
            for (const std::string &p : passes) {
                const std::string dir = out_dir + "/runs/" + c.name + "-" + p;
                if (run_complete(dir)) continue;
                fs::create_directories(dir, ec);
                if (ec) throw InputError("cannot create '" + dir + "': " + ec.message());
                // A run whose generation finished but whose verification did not keeps its outputs.
                if (!fs::is_regular_file(dir + "/outputs.json.meta.json")) {
                    if (!provider) provider = Model::load(lab_provider_model(c, ref_path, env), c.settings);
                    pass_generate(lc, c, *provider, p, dir);
                }
                pass_verify(lc, c, p, dir);
            }
            previous_seconds[c.name] = seconds_since(t0);
        }
        doc["configs"].push_back(config_entry(c));
        doc["seconds"][c.name] =
            previous_seconds.contains(c.name) ? previous_seconds[c.name] : ojson(nullptr);
        file_write_atomic(lab_json, doc.dump(2) + "\n");
    }
    return stats;
}

}  // namespace difr
