// The artifact lab's runner: its TOML file, and for each scenario the prover's artifacts made for real with
// the engine (or laundered: a cheap model's tokens with the reference's logprobs), validated by the
// reference, one statistics line per artifact and length.
#include <toml++/toml.h>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "difr/artifact_prover.h"
#include "difr/artifact_validate.h"
#include "difr/error.h"
#include "difr/lab_artifacts.h"
#include "difr/prompts.h"
#include "difr/quantize.h"
#include "difr/results.h"

namespace difr {

namespace {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

struct Reader {
    const std::string &path;
    [[noreturn]] void bad(const std::string &key, const std::string &why) const {
        throw InputError(path + ": key '" + key + "': " + why);
    }
    template <typename T>
    std::optional<T> get(const toml::table &t, const char *key, const std::string &where) const {
        const toml::node *n = t.get(key);
        if (!n) return std::nullopt;
        if constexpr (std::is_same_v<T, double>) {
            if (auto v = n->value<double>()) return *v;
        } else if constexpr (std::is_same_v<T, std::string>) {
            if (auto v = n->value<std::string>()) return *v;
        } else {
            return integer<T>(*n, where + key);
        }
        bad(where + key, "wrong type");
    }
    // A TOML integer within T's range. Not toml++'s value<int64_t>(), which also converts floats and casts
    // an out-of-range one (k = -9.3e19) to an integer: undefined behaviour, found by fuzz_artifact_lab.
    template <typename T>
    T integer(const toml::node &n, const std::string &key) const {
        const auto *v = n.as_integer();
        if (!v) bad(key, "expected an integer");
        const int64_t x = v->get();
        if (x < int64_t(std::numeric_limits<T>::min()) || x > int64_t(std::numeric_limits<T>::max()))
            bad(key, std::to_string(x) + " is out of range");
        return T(x);
    }
};

}  // namespace

ArtifactLabSpec artifact_lab_read(const std::string &path) {
    toml::table doc;
    try {
        doc = toml::parse_file(path);
    } catch (const toml::parse_error &e) {
        throw InputError(path + ":" + std::to_string(e.source().begin.line) + ": " +
                         std::string(e.description()));
    }
    const Reader r{path};
    ArtifactLabSpec s;
    s.path = path;
    s.name = r.get<std::string>(doc, "name", "").value_or("artifacts");
    s.reference = r.get<std::string>(doc, "reference", "").value_or("smollm2-135m-instruct-q4_1");
    s.prompts = r.get<std::string>(doc, "prompts", "").value_or("../prompts/lab.jsonl");
    if (fs::path(s.prompts).is_relative()) s.prompts = (fs::path(path).parent_path() / s.prompts).string();
    s.n_artifacts = r.get<int32_t>(doc, "n_artifacts", "").value_or(s.n_artifacts);
    s.max_tokens = r.get<int32_t>(doc, "max_tokens", "").value_or(s.max_tokens);
    s.k = r.get<int32_t>(doc, "k", "").value_or(s.k);
    s.noise = r.get<std::string>(doc, "noise", "").value_or(s.noise);
    if (auto t = r.get<int32_t>(doc, "threads", "")) s.settings.n_threads = *t;
    if (const toml::array *a = doc.get_as<toml::array>("lengths")) {
        s.lengths.clear();
        for (const auto &v : *a) {
            const int32_t x = r.integer<int32_t>(v, "lengths");
            if (x < 1) r.bad("lengths", "positive integers");
            s.lengths.push_back(x);
        }
    }
    if (s.n_artifacts < 1 || s.max_tokens < 1) r.bad("n_artifacts/max_tokens", "must be positive");
    s.claimed.temperature = 1.0;
    s.claimed.top_k = 20;
    s.claimed.top_p = 0.95;
    s.claimed.seed = 42;
    if (const toml::table *c = doc.get_as<toml::table>("claimed")) {
        s.claimed.temperature = r.get<double>(*c, "temperature", "claimed.").value_or(s.claimed.temperature);
        s.claimed.top_k = r.get<int32_t>(*c, "top_k", "claimed.").value_or(s.claimed.top_k);
        s.claimed.top_p = r.get<double>(*c, "top_p", "claimed.").value_or(s.claimed.top_p);
        s.claimed.seed = r.get<int64_t>(*c, "seed", "claimed.").value_or(*s.claimed.seed);
    }
    const toml::array *sc = doc.get_as<toml::array>("scenarios");
    if (!sc || sc->empty()) r.bad("scenarios", "at least one [[scenarios]] table");
    for (size_t i = 0; i < sc->size(); ++i) {
        const std::string w = "scenarios[" + std::to_string(i) + "].";
        const toml::table *t = (*sc)[i].as_table();
        if (!t) r.bad(w, "not a table");
        ArtifactScenario a;
        a.settings = s.settings;
        a.name = r.get<std::string>(*t, "name", w).value_or("");
        if (a.name.empty() ||
            a.name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") !=
                std::string::npos)
            r.bad(w + "name", "required, [A-Za-z0-9_.-]+");
        for (const ArtifactScenario &o : s.scenarios)
            if (o.name == a.name) r.bad(w + "name", "'" + a.name + "' is used twice");
        a.kind = r.get<std::string>(*t, "kind", w).value_or("");
        a.draw = r.get<std::string>(*t, "draw", w).value_or("gumbel");
        if (a.draw != "gumbel" && a.draw != "weighted") r.bad(w + "draw", "gumbel or weighted");
        a.description = r.get<std::string>(*t, "description", w).value_or("");
        if (a.kind == "reference") {
            a.role = LabRole::honest;
        } else if (a.kind == "engine") {
            a.role = LabRole::honest;
            if (auto v = r.get<int32_t>(*t, "threads", w)) a.settings.n_threads = *v;
            if (auto v = r.get<int32_t>(*t, "parallel", w)) a.settings.n_seq_max = *v;
            if (auto v = r.get<int32_t>(*t, "batch", w)) a.settings.n_batch = *v;
            if (auto v = r.get<std::string>(*t, "flash_attn", w)) a.settings.flash_attn = *v;
        } else if (a.kind == "quantize" || a.kind == "forgery") {
            a.quantize = r.get<std::string>(*t, "type", w).value_or("");
            if (a.quantize.empty()) r.bad(w + "type", "required (a GGUF type such as Q4_0)");
        } else if (a.kind == "prefill") {
            a.quantize = r.get<std::string>(*t, "type", w).value_or("");
            a.model = r.get<std::string>(*t, "model", w).value_or("");
            if (a.quantize.empty() == a.model.empty())
                r.bad(w + "type", "give type (a requantisation) or model");
        } else if (a.kind == "seed") {
            a.seed = r.get<int64_t>(*t, "value", w);
            if (!a.seed) r.bad(w + "value", "required: the seed really used");
        } else {
            r.bad(w + "kind",
                  "'" + a.kind + "' is not reference, engine, quantize, prefill, forgery or seed");
        }
        s.scenarios.push_back(std::move(a));
    }
    return s;
}

namespace {

std::string derived_model(const std::string &ref_path, const std::string &type, const LabEnvironment &env) {
    std::string t = type;
    for (char &c : t) c = (char)std::tolower((unsigned char)c);
    const std::string out = env.derived_dir + "/" + fs::path(ref_path).stem().string() + "-" + t + ".gguf";
    if (!fs::is_regular_file(out)) {
        fs::create_directories(env.derived_dir);
        if (env.log) env.log("quantising " + ref_path + " to " + type + " -> " + out);
        quantize_model(ref_path, out, type);
    }
    return out;
}

// Replaces every position's logprobs (chosen and top-k) by the reference's: at the artifact's own top-k ids
// (logprob forgery) or with the reference's own top-k (pre-fill: the laundered artifact).
void launder(Artifact &a, Model &ref, const EngineSettings &settings, bool keep_ids) {
    std::vector<TokenSequence> seqs;
    std::vector<std::vector<std::vector<int32_t>>> at;
    for (const ArtifactSequence &s : a.sequences) {
        TokenSequence t{s.prompt_token_ids, {}};
        std::vector<std::vector<int32_t>> ids;
        for (const ArtifactPosition &p : s.positions) {
            t.output_token_ids.push_back(p.id);
            std::vector<int32_t> row;
            for (const ArtifactTop &e : p.top) row.push_back(e.id);
            ids.push_back(keep_ids ? row : std::vector<int32_t>{});
        }
        seqs.push_back(std::move(t));
        at.push_back(std::move(ids));
    }
    Scorer scorer(ref, settings);
    auto rows = artifact_score_tokens(ref, scorer, seqs, a.k, at);
    for (size_t i = 0; i < a.sequences.size(); ++i) a.sequences[i].positions = std::move(rows[i]);
}

Artifact scenario_artifact(const ArtifactLabSpec &spec, const ArtifactScenario &sc, Model &ref,
                           const std::string &ref_path, const std::vector<std::vector<ChatMessage>> &convs,
                           const std::vector<std::vector<int32_t>> &prompts, const LabEnvironment &env) {
    ProverOptions po;
    po.sampling = spec.claimed;
    po.noise = spec.noise;
    po.max_tokens = spec.max_tokens;
    po.k = spec.k;
    po.stop_at_eog = false;  // every artifact reaches max_tokens, so every length has every artifact
    po.proof = sc.draw == "weighted" ? SeedProofKind::weighted : SeedProofKind::none;
    // Sequence ids fixed by scenario and prompt, so a rerun makes the same artifacts.
    for (size_t i = 0; i < prompts.size(); ++i) {
        char id[48];  // 24 + up to 16 hex digits + NUL
        std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012zx", i + 1);
        po.ids.push_back(id);
    }
    if (sc.kind == "seed") po.sampling.seed = sc.seed;
    std::string provider_path = ref_path;
    if (!sc.quantize.empty()) provider_path = derived_model(ref_path, sc.quantize, env);
    if (!sc.model.empty()) provider_path = env.model_resolve(sc.model);
    Artifact a;
    if (provider_path == ref_path && sc.kind != "prefill") {
        a = artifact_generate(ref, sc.settings, prompts, po);
    } else {
        auto provider = Model::load(provider_path, sc.settings);
        if (sc.kind == "prefill" && !sc.model.empty()) {
            // Another vocabulary: its text, re-tokenised with the reference's, as an API would return it.
            std::vector<std::vector<int32_t>> own;
            for (const auto &c : convs) own.push_back(provider->chat_tokenize(c));
            GenerateOptions g;
            g.sampling = prover_sampling_params(spec.claimed);
            g.noise = *noise_profile_from_name(spec.noise);
            g.max_tokens =
                spec.max_tokens * 2;  // its tokens are not ours: enough text for max_tokens of ours
            g.stop_at_eog = false;
            const auto made = generate(*provider, sc.settings, own, g);
            a.source = "difr";
            a.k = spec.k;
            a.sampling = spec.claimed;
            a.proof = po.proof;
            for (size_t i = 0; i < made.size(); ++i) {
                ArtifactSequence s;
                s.id = po.ids[i];
                s.prompt_token_ids = prompts[i];
                std::vector<int32_t> ids =
                    ref.tokenize(provider->detokenize(made[i].output_token_ids), false, false);
                if ((int32_t)ids.size() > spec.max_tokens) ids.resize((size_t)spec.max_tokens);
                for (int32_t id : ids)
                    s.positions.push_back(ArtifactPosition{id, std::to_string(id), 0.0, {}});
                a.sequences.push_back(std::move(s));
            }
        } else {
            a = artifact_generate(*provider, sc.settings, prompts, po);
        }
    }
    a.sampling.seed = spec.claimed.seed;  // the claim, whatever seed was used
    a.model = ref.description();
    if (sc.kind == "prefill") launder(a, ref, spec.settings, false);
    if (sc.kind == "forgery") launder(a, ref, spec.settings, true);
    return a;
}

}  // namespace

void artifact_lab_run(const ArtifactLabSpec &spec, const std::string &out_dir, const LabEnvironment &env) {
    const std::string ref_path = env.model_resolve(spec.reference);
    auto convs = conversations_read(spec.prompts);
    if ((int32_t)convs.size() < spec.n_artifacts)
        throw InputError(spec.path + ": key 'n_artifacts': " + std::to_string(spec.n_artifacts) +
                         " wanted, '" + spec.prompts + "' holds " + std::to_string(convs.size()) +
                         " prompts");
    convs.resize((size_t)spec.n_artifacts);
    fs::create_directories(out_dir + "/artifacts");
    fs::create_directories(out_dir + "/stats");
    auto ref = Model::load(ref_path, spec.settings);
    std::vector<std::vector<int32_t>> prompts;
    for (const auto &c : convs) prompts.push_back(ref->chat_tokenize(c));
    ojson lab;
    lab["lab"] = spec.name;
    lab["kind"] = "artifacts";
    lab["reference"] = ref_path;
    lab["n_artifacts"] = spec.n_artifacts;
    lab["max_tokens"] = spec.max_tokens;
    lab["lengths"] = spec.lengths;
    lab["k"] = spec.k;
    lab["claimed"] = {{"temperature", spec.claimed.temperature},
                      {"top_k", spec.claimed.top_k},
                      {"top_p", spec.claimed.top_p},
                      {"seed", *spec.claimed.seed},
                      {"noise", spec.noise}};
    lab["scenarios"] = ojson::array();
    lab["seconds"] = ojson::object();
    for (const ArtifactScenario &sc : spec.scenarios) {
        lab["scenarios"].push_back({{"name", sc.name},
                                    {"kind", sc.kind},
                                    {"role", sc.role == LabRole::honest ? "honest" : "deviation"},
                                    {"draw", sc.draw},
                                    {"description", sc.description}});
        const std::string art = out_dir + "/artifacts/" + sc.name + ".json";
        const std::string stats = out_dir + "/stats/" + sc.name + ".jsonl";
        if (fs::is_regular_file(stats)) {
            if (env.log) env.log(sc.name + ": complete, kept");
            continue;
        }
        const auto t0 = std::chrono::steady_clock::now();
        Artifact a;
        if (fs::is_regular_file(art)) {
            a = artifact_read(art);
        } else {
            if (env.log)
                env.log(sc.name + ": making " + std::to_string(spec.n_artifacts) + " artifacts (" + sc.kind +
                        ", " + sc.draw + ")");
            a = scenario_artifact(spec, sc, *ref, ref_path, convs, prompts, env);
            artifact_write(art, a);
            a = artifact_read(art);  // exactly what a validator reads
        }
        const double t_make = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        ValidateOptions vo;
        vo.noise = spec.noise;
        vo.token_difr = sc.draw == "gumbel";
        const auto rows = artifact_reference_score(*ref, spec.settings, a, prompts, vo);
        std::string lines;
        for (size_t i = 0; i < a.sequences.size(); ++i)
            for (int32_t len : spec.lengths) {
                if ((size_t)len > a.sequences[i].positions.size()) continue;
                const SequenceChecks c = artifact_checks(a, i, &rows[i], (size_t)len);
                ojson j = {{"scenario", sc.name},
                           {"role", sc.role == LabRole::honest ? "honest" : "deviation"},
                           {"draw", sc.draw},
                           {"artifact", i},
                           {"length", len},
                           {"gonka_similarity", c.gonka.value},
                           {"distance2", c.distance2.distance},
                           {"mean_logprob", c.mean_logprob},
                           {"mae", c.mae},
                           {"seed", seed_verdict_name(c.seed.verdict)}};
                if (c.difr_run) {
                    j["exact_match_rate"] = c.exact_match_rate;
                    j["avg_margin"] = c.avg_margin;
                }
                lines += j.dump() + "\n";
            }
        file_write_atomic(stats, lines);
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (env.log) {
            char buf[160];
            std::snprintf(buf, sizeof buf, "%s: made in %.0f s, validated in %.0f s", sc.name.c_str(), t_make,
                          secs - t_make);
            env.log(buf);
        }
        lab["seconds"][sc.name] = secs;
        file_write_atomic(out_dir + "/lab.json", lab.dump(2) + "\n");
    }
    file_write_atomic(out_dir + "/lab.json", lab.dump(2) + "\n");
}

}  // namespace difr
