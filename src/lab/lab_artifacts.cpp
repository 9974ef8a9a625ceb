// The artifact lab's runner: its TOML file, and for each scenario the prover's artifacts made for real with
// the engine (or laundered: a cheap model's tokens with the reference's logprobs), validated by the
// reference, one statistics line per artifact and length.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "difr/artifact_prover.h"
#include "difr/artifact_validate.h"
#include "difr/error.h"
#include "difr/lab_artifacts.h"
#include "difr/prompts.h"
#include "difr/results.h"
#include "lab_toml.h"

namespace difr {

namespace {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

// The keys a scenario of each kind may have, besides name, kind, draw and description.
const std::pair<const char *, std::set<std::string>> kScenarioKeys[] = {
    {"reference", {}},
    {"engine", {"threads", "parallel", "batch", "flash_attn"}},
    {"quantize", {"type"}},
    {"forgery", {"type"}},
    {"prefill", {"type", "model"}},
    {"seed", {"value"}},
};

}  // namespace

ArtifactLabSpec artifact_lab_read(const std::string &path) {
    const LabTomlReader r(path);
    const toml::table doc = r.parse(file_read_text(path, "artifact lab file"));
    r.keys_check(doc, "",
                 {"name", "reference", "prompts", "n_artifacts", "max_tokens", "k", "noise", "threads",
                  "lengths", "claimed", "scenarios"});
    ArtifactLabSpec s;
    s.path = path;
    s.name = r.str(doc, "", "name").value_or("artifacts");
    s.reference = r.str(doc, "", "reference").value_or("smollm2-135m-instruct-q4_1");
    s.prompts = r.str(doc, "", "prompts").value_or("../prompts/lab.jsonl");
    if (fs::path(s.prompts).is_relative()) s.prompts = (fs::path(path).parent_path() / s.prompts).string();
    s.n_artifacts = r.positive(doc, "", "n_artifacts").value_or(s.n_artifacts);
    s.max_tokens = r.positive(doc, "", "max_tokens").value_or(s.max_tokens);
    s.k = r.positive(doc, "", "k").value_or(s.k);
    s.noise = r.str(doc, "", "noise").value_or(s.noise);
    if (auto t = r.positive(doc, "", "threads")) s.settings.n_threads = *t;
    if (const toml::node *n = doc.get("lengths")) {
        const toml::array *a = n->as_array();
        if (!a) r.fail("lengths", "expected an array of integers, got " + LabTomlReader::type_name(*n));
        s.lengths.clear();
        for (const auto &v : *a) {
            const int32_t x = r.integer<int32_t>(v, "lengths");
            if (x < 1) r.fail("lengths", "positive integers");
            s.lengths.push_back(x);
        }
    }
    s.claimed.temperature = 1.0;
    s.claimed.top_k = 20;
    s.claimed.top_p = 0.95;
    s.claimed.seed = 42;
    if (const toml::node *n = doc.get("claimed")) {
        const toml::table *c = n->as_table();
        if (!c) r.fail("claimed", "expected a table, got " + LabTomlReader::type_name(*n));
        r.keys_check(*c, "claimed.", {"temperature", "top_k", "top_p", "seed"});
        s.claimed.temperature = r.number(*c, "claimed.", "temperature").value_or(s.claimed.temperature);
        s.claimed.top_k = r.integer<int32_t>(*c, "claimed.", "top_k").value_or(s.claimed.top_k);
        s.claimed.top_p = r.number(*c, "claimed.", "top_p").value_or(s.claimed.top_p);
        s.claimed.seed = r.integer(*c, "claimed.", "seed").value_or(*s.claimed.seed);
    }
    const toml::node *scn = doc.get("scenarios");
    if (!scn || !scn->is_array_of_tables() || scn->as_array()->empty())
        r.fail("scenarios", "at least one [[scenarios]] table");
    const toml::array &sc = *scn->as_array();
    for (size_t i = 0; i < sc.size(); ++i) {
        const std::string w = "scenarios[" + std::to_string(i) + "].";
        const toml::table &t = *sc[i].as_table();
        ArtifactScenario a;
        a.settings = s.settings;
        a.name = r.str(t, w, "name").value_or("");
        if (a.name.empty() ||
            a.name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") !=
                std::string::npos)
            r.fail(w + "name", "required, [A-Za-z0-9_.-]+");
        for (const ArtifactScenario &o : s.scenarios)
            if (o.name == a.name) r.fail(w + "name", "'" + a.name + "' is used twice");
        a.kind = r.str(t, w, "kind").value_or("");
        const std::set<std::string> *kind_keys = nullptr;
        for (const auto &[kind, keys] : kScenarioKeys)
            if (a.kind == kind) kind_keys = &keys;
        if (!kind_keys)
            r.fail(w + "kind",
                   "'" + a.kind + "' is not reference, engine, quantize, prefill, forgery or seed");
        std::set<std::string> allowed = *kind_keys;
        allowed.insert({"name", "kind", "draw", "description"});
        r.keys_check(t, w, allowed);
        a.draw = r.str(t, w, "draw").value_or("gumbel");
        if (a.draw != "gumbel" && a.draw != "weighted") r.fail(w + "draw", "gumbel or weighted");
        a.description = r.str(t, w, "description").value_or("");
        if (a.kind == "reference") {
            a.role = LabRole::honest;
        } else if (a.kind == "engine") {
            a.role = LabRole::honest;
            if (auto v = r.positive(t, w, "threads")) a.settings.n_threads = *v;
            if (auto v = r.positive(t, w, "parallel")) a.settings.n_seq_max = *v;
            if (auto v = r.positive(t, w, "batch")) a.settings.n_batch = *v;
            if (auto v = r.str(t, w, "flash_attn")) a.settings.flash_attn = *v;
        } else if (a.kind == "quantize" || a.kind == "forgery") {
            a.quantize = r.str(t, w, "type").value_or("");
            if (a.quantize.empty()) r.fail(w + "type", "required (a GGUF type such as Q4_0)");
        } else if (a.kind == "prefill") {
            a.quantize = r.str(t, w, "type").value_or("");
            a.model = r.str(t, w, "model").value_or("");
            if (a.quantize.empty() == a.model.empty())
                r.fail(w + "type", "give type (a requantisation) or model");
        } else {  // seed
            a.seed = r.integer(t, w, "value");
            if (!a.seed) r.fail(w + "value", "required: the seed really used");
        }
        s.scenarios.push_back(std::move(a));
    }
    return s;
}

namespace {

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
    if (!sc.quantize.empty()) provider_path = lab_derived_model(ref_path, sc.quantize, env);
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
