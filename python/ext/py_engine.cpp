// The local engine from Python: models (load, tokenise, chat templates), verification of token sequences
// (difr verify's library call) and prompt sets built like token-difr's construct_prompts.
#include <nanobind/stl/function.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "difr/error.h"
#include "difr/fingerprint_proofs.h"
#include "difr/prompt_set.h"
#include "difr/provenance.h"
#include "difr/results.h"
#include "difr/verify.h"
#include "py_bindings.h"
#include "py_common.h"
#include "py_model.h"
#include "py_proofs.h"
#include "py_verify.h"

namespace difr::py {

namespace {

nb::dict verify_local(PyModel &pm, nb::handle outputs, float temperature, int32_t top_k, float top_p,
                      uint64_t seed, float min_p, const std::string &noise, const std::string &out_dir,
                      const std::string &input_label, bool progress, const std::string &fingerprints,
                      const ToplocThresholds &toploc) {
    if (pm.vocab_only) throw InputError("the model was loaded vocab_only: it can tokenise but not verify");
    Model &model = pm.get();
    const std::vector<TokenSequence> seqs = sequences_from_python(outputs);
    VerifyOptions v;
    // "auto" as `difr verify --noise auto`: every profile in one pass, the metrics of the one that explains
    // the tokens.
    if (noise == "auto") {
        v.identify.assign(std::begin(kNoiseProfiles), std::end(kNoiseProfiles));
    } else {
        const std::optional<NoiseProfile> profile = noise_profile_from_name(noise);
        if (!profile)
            throw InputError("unknown noise profile '" + noise + "' (known: auto, " + noise_profile_names() +
                             ")");
        v.noise = *profile;
    }
    v.sampling.temperature = temperature;
    v.sampling.top_k = top_k;
    v.sampling.top_p = top_p;
    v.sampling.seed = seed;
    v.sampling.min_p = min_p;
    // `difr verify --fingerprints`: the claimed proofs against the engine's own hidden states of these rows.
    std::optional<ActivationProofsFile> claimed;
    std::unique_ptr<ActivationChecker> checker;
    if (!fingerprints.empty()) {
        claimed = activation_proofs_read(fingerprints);
        std::vector<int64_t> lengths;
        for (const TokenSequence &s : seqs) lengths.push_back((int64_t)s.output_token_ids.size());
        checker = std::make_unique<ActivationChecker>(*claimed, lengths, model.n_embd(), toploc);
        v.hidden = [&](size_t seq, int32_t j, std::span<const float> h) { checker->add(seq, j, h); };
    }
    const std::unique_ptr<TokenMetricsWriter> writer = metrics_writer_open(out_dir);

    VerifyRun run = run_interruptible<VerifyRun>([&](const InterruptCheck &check) {
        VerifyRun r;
        VerifyOptions o = v;
        o.interrupt_check = check;
        std::unique_ptr<ProgressBar> bar;
        if (progress) bar = std::make_unique<ProgressBar>("verify", seqs.size());
        r.result = verify_sequences(
            model, pm.settings, seqs, o, writer.get(),
            [&](size_t done, size_t) {
                if (bar) bar->update(done);
            },
            [&](size_t, std::span<const TokenMetrics> ms) { r.add(ms); });
        if (bar) bar->finish();
        if (!out_dir.empty()) {
            nlohmann::ordered_json prov =
                nlohmann::ordered_json::parse(provenance_json(model, pm.settings, v.sampling, noise));
            prov["input"] = input_label;
            prov["reference"] = {{"kind", "local"}};
            if (r.result.identification) {
                prov["noise_identified"] = std::string(noise_profile_name(r.result.noise));
                prov["noise_covers"] = std::string(noise_profile_covers(r.result.noise));
                prov["noise_identification"] =
                    nlohmann::ordered_json::parse(identification_to_json(*r.result.identification));
            }
            prov["tokens_evaluated"] = r.result.stats.tokens_evaluated;
            prov["decode_calls"] = r.result.stats.decode_calls;
            prov["seconds"] = r.result.seconds;
            prov["resumed_sequences"] = 0;  // as difr verify writes it; the package does not resume runs
            if (checker) {
                activation_checks_write(*checker, out_dir + "/fingerprints.jsonl", out_dir + "/toploc.jsonl");
                prov["fingerprints_file"] = fingerprints;
                if (claimed->spec.fingerprint)
                    prov["fingerprints"] =
                        nlohmann::ordered_json::parse(fingerprint_stats_json(checker->fingerprint_stats()));
                if (claimed->spec.toploc)
                    prov["toploc"] =
                        nlohmann::ordered_json::parse(toploc_stats_json(checker->toploc_stats(), toploc));
            }
            file_write_atomic(out_dir + "/summary.json", summary_to_json(r.result.summary, prov.dump()));
        }
        return r;
    });
    nb::dict d = verify_run_to_python(std::move(run));
    if (checker) d["proofs"] = activation_checks_to_python(*checker, toploc);
    return d;
}

// Carries a Python exception through prompt_set_build, which counts every std::exception as a template error.
struct PythonFailure {
    nb::python_error error;
};

nb::tuple prompt_set(const std::string &path, size_t limit, int32_t max_tokens, const std::string &system,
                     bool english_only, std::optional<uint64_t> shuffle_seed, nb::object tokenizer) {
    const std::vector<PromptRecord> records = prompt_records_read(path);
    PromptSetOptions o;
    o.limit = limit;
    o.max_tokens = max_tokens;
    o.system = system;
    o.english_only = english_only;
    o.shuffle_seed = shuffle_seed;
    ChatTokenizer tokenize;
    if (nb::isinstance<PyModel>(tokenizer)) {
        const Model &model = nb::cast<PyModel &>(tokenizer).get();
        tokenize = [&model](const std::vector<ChatMessage> &m) { return model.chat_tokenize(m); };
    } else {
        // A Python callable (a Hugging Face tokenizer wrapped by difr_llm.prompts): conversation -> ids. A
        // template that rejects a conversation (jinja's TemplateError) drops it and is counted, as a GGUF
        // template's error is; any other Python error is a bug in the callable and propagates.
        tokenize = [tokenizer](const std::vector<ChatMessage> &m) {
            try {
                return nb::cast<std::vector<int32_t>>(tokenizer(messages_to_python(m)));
            } catch (nb::python_error &e) {
                const std::string type = nb::type_name(e.type()).c_str();
                if (type.size() >= 13 && type.compare(type.size() - 13, 13, "TemplateError") == 0)
                    throw std::runtime_error(e.what());
                throw PythonFailure{std::move(e)};
            }
        };
    }
    PromptSetStats stats;
    std::vector<std::vector<ChatMessage>> convs;
    try {
        convs = prompt_set_build(records, o, tokenize, stats);
    } catch (PythonFailure &f) {
        throw std::move(f.error);
    }
    nb::list out;
    for (const auto &c : convs) out.append(messages_to_python(c));
    nb::dict s;
    s["read"] = stats.read;
    s["not_english"] = stats.not_english;
    s["unknown_role"] = stats.unknown_role;
    s["no_user_turn"] = stats.no_user_turn;
    s["empty_turn"] = stats.empty_turn;
    s["too_long"] = stats.too_long;
    s["duplicate"] = stats.duplicate;
    s["template_error"] = stats.template_error;
    s["kept"] = stats.kept;
    return nb::make_tuple(out, s, stats.describe());
}

}  // namespace

void register_engine(nb::module_ &m) {
    nb::class_<PyModel>(m, "Model",
                        "a GGUF model loaded with llama.cpp, with the engine settings it verifies with")
        .def(
            "__init__",
            [](PyModel *self, const std::string &path, bool vocab_only, int32_t threads, int32_t batch,
               int32_t parallel, int32_t ctx, const std::string &kv_type, const std::string &flash_attn,
               bool repack, int32_t gpu_layers) {
                EngineSettings s;
                s.n_threads = threads;
                s.n_batch = batch;
                s.n_seq_max = parallel;
                s.n_ctx = ctx;
                s.kv_type = kv_type;
                s.flash_attn = flash_attn;
                s.repack = repack;
                s.n_gpu_layers = gpu_layers;
                std::unique_ptr<Model> model;
                {
                    nb::gil_scoped_release release;  // a large model takes seconds to map and load
                    model = Model::load(path, s, vocab_only);
                }
                new (self) PyModel{std::move(model), s, vocab_only};
            },
            nb::arg("path"), nb::kw_only(), nb::arg("vocab_only") = false, nb::arg("threads") = 0,
            nb::arg("batch") = 512, nb::arg("parallel") = 4, nb::arg("ctx") = 0, nb::arg("kv_type") = "f16",
            nb::arg("flash_attn") = "off", nb::arg("repack") = false, nb::arg("gpu_layers") = 0)
        .def_prop_ro("path", [](const PyModel &p) { return p.get().path(); })
        .def_prop_ro("n_vocab", [](const PyModel &p) { return p.get().n_vocab(); })
        .def_prop_ro("n_ctx_train", [](const PyModel &p) { return p.get().n_ctx_train(); })
        .def_prop_ro("description", [](const PyModel &p) { return p.get().description(); })
        .def_prop_ro("vocab_only", [](const PyModel &p) { return p.vocab_only; })
        .def_prop_ro("settings", [](const PyModel &p) { return json_to_python(p.settings.to_json()); })
        .def(
            "tokenize",
            [](const PyModel &p, const std::string &text, bool add_special, bool parse_special) {
                return p.get().tokenize(text, add_special, parse_special);
            },
            nb::arg("text"), nb::kw_only(), nb::arg("add_special") = false, nb::arg("parse_special") = true)
        .def(
            "detokenize",
            [](const PyModel &p, const std::vector<int32_t> &ids) { return p.get().detokenize(ids); },
            nb::arg("ids"))
        .def(
            "chat_render",
            [](const PyModel &p, nb::handle messages, bool add_generation_prompt) {
                return p.get().chat_render(messages_from_python(messages, "messages"), add_generation_prompt);
            },
            nb::arg("messages"), nb::kw_only(), nb::arg("add_generation_prompt") = true)
        .def(
            "chat_tokenize",
            [](const PyModel &p, nb::handle messages) {
                return p.get().chat_tokenize(messages_from_python(messages, "messages"));
            },
            nb::arg("messages"))
        .def(
            "close", [](PyModel &p) { p.model.reset(); }, "frees the weights now rather than when collected");

    m.def("verify", &verify_local, nb::arg("model"), nb::arg("outputs"), nb::arg("temperature"),
          nb::arg("top_k"), nb::arg("top_p"), nb::arg("seed"), nb::arg("min_p"), nb::arg("noise"),
          nb::arg("out_dir"), nb::arg("input_label"), nb::arg("progress"), nb::arg("fingerprints"),
          nb::arg("toploc"),
          "verifies token sequences against the model (difr verify); the GIL is released, Ctrl-C stops it");
    m.def("prompt_set", &prompt_set, nb::arg("path"), nb::arg("limit"), nb::arg("max_tokens"),
          nb::arg("system"), nb::arg("english_only"), nb::arg("shuffle_seed").none(), nb::arg("tokenizer"),
          "conversations from a ShareGPT/LMSYS/WildChat file filtered like token-difr's construct_prompts: "
          "(conversations, stats, description)");
}

}  // namespace difr::py
