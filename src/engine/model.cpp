#include "difr/model.h"

#include <llama.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "difr/cpu.h"
#include "difr/error.h"
#include "engine_internal.h"

namespace difr {

int32_t EngineSettings::threads() const {
    if (n_threads > 0) return n_threads;
    const unsigned hw = std::thread::hardware_concurrency();
    return hw > 0 ? (int32_t)hw : 1;
}

std::string EngineSettings::to_json() const {
    nlohmann::ordered_json j = {
        {"n_threads", threads()}, {"n_batch", n_batch},           {"n_seq_max", n_seq_max},
        {"n_ctx", n_ctx},         {"kv_type", kv_type},           {"flash_attn", flash_attn},
        {"repack", repack},       {"n_gpu_layers", n_gpu_layers}, {"backend", engine_backend_name()}};
    return j.dump();
}

namespace {

// While a model loads on this thread: the buffer types its weights go to. llama.cpp says so only in its log
// ("load_tensors:   CPU_REPACK model buffer size = 40.50 MiB"), and which one it picks is what decides the
// matmul kernels (CPU: ggml's vec_dot; CPU_REPACK: the repacked gemm; AMX, CUDA0, ...).
thread_local std::vector<std::string> *weight_buffers_capture = nullptr;

void weight_buffer_note(const char *text) {
    const char *at = std::strstr(text, " model buffer size");
    if (!at) return;
    const char *colon = std::strchr(text, ':');
    const char *begin = colon && colon < at ? colon + 1 : text;
    std::string name(begin, at);
    name.erase(0, name.find_first_not_of(' '));
    if (!name.empty() && std::find(weight_buffers_capture->begin(), weight_buffers_capture->end(), name) ==
                             weight_buffers_capture->end())
        weight_buffers_capture->push_back(name);
}

void log_quiet(ggml_log_level level, const char *text, void *) {
    if (weight_buffers_capture) weight_buffer_note(text);
    // llama.cpp is chatty on stderr; keep warnings and errors, drop the rest unless DIFR_LLAMA_LOG is set.
    static const bool verbose = std::getenv("DIFR_LLAMA_LOG") != nullptr;
    if (verbose || level == GGML_LOG_LEVEL_ERROR) std::fputs(text, stderr);
}

}  // namespace

void engine_init() {
    static std::once_flag once;
    std::call_once(once, [] {
        // The process-start check (src/engine/cpu.cpp) exits before this in a program; a library user who
        // loaded difr into a process on an older CPU gets an error instead of SIGILL.
        const std::vector<std::string> missing = build_isa_missing();
        if (!missing.empty())
            throw std::runtime_error("this build's kernels need " + build_isa() + ", and this CPU lacks " +
                                     missing.front() + " (docs/engine.md, \"Build policy\")");
        llama_log_set(log_quiet, nullptr);
        llama_backend_init();
    });
}

std::string engine_machine_json() {
    engine_init();
    const CpuInfo cpu = cpu_info();
    nlohmann::ordered_json j;
    j["cpu"] = cpu.model;
    j["cpu_features"] = cpu.features;
    j["isa"] = build_isa();
    // ggml's own account of the kernels each backend was compiled with ("AVX2": "1", "REPACK": "1", ...).
    nlohmann::ordered_json kernels = nlohmann::ordered_json::object();
    for (size_t i = 0; i < ggml_backend_reg_count(); ++i) {
        ggml_backend_reg_t reg = ggml_backend_reg_get(i);
        auto get_features = reinterpret_cast<ggml_backend_get_features_t>(
            ggml_backend_reg_get_proc_address(reg, "ggml_backend_get_features"));
        if (!get_features) continue;
        nlohmann::ordered_json f = nlohmann::ordered_json::object();
        for (const ggml_backend_feature *feat = get_features(reg); feat->name; ++feat)
            f[feat->name] = feat->value;
        kernels[ggml_backend_reg_name(reg)] = f;
    }
    j["ggml_features"] = kernels;
    return j.dump();
}

std::string engine_backend_name() {
    engine_init();
    std::string names;
    for (size_t i = 0; i < ggml_backend_dev_count(); ++i) {
        ggml_backend_dev_t dev = ggml_backend_dev_get(i);
        if (!names.empty()) names += ",";
        names += ggml_backend_dev_name(dev);
    }
    return names;
}

Model::~Model() {
    chat_.reset();
    if (model_) llama_model_free(model_);
}

std::unique_ptr<Model> Model::load(const std::string &path, const EngineSettings &settings, bool vocab_only) {
    engine_init();
    if (!std::filesystem::is_regular_file(path))
        throw InputError("model file '" + path +
                         "' does not exist (run `difr models` to see the cached models)");
    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = settings.n_gpu_layers;
    mp.use_extra_bufts = settings.repack;
    mp.vocab_only = vocab_only;
    std::unique_ptr<Model> m(new Model());
    m->path_ = path;
    weight_buffers_capture = &m->weight_buffers_;
    m->model_ = llama_model_load_from_file(path.c_str(), mp);
    weight_buffers_capture = nullptr;
    if (!m->model_)
        throw InputError("could not load '" + path + "' as a GGUF model (see llama.cpp's error above)");
    m->chat_ = chat_templates_init(m->model_);
    return m;
}

int32_t Model::n_vocab() const {
    return llama_vocab_n_tokens(llama_model_get_vocab(model_));
}
int32_t Model::n_embd() const {
    return llama_model_n_embd(model_);
}

int32_t Model::n_ctx_train() const {
    return llama_model_n_ctx_train(model_);
}
bool Model::is_eog(int32_t token) const {
    return llama_vocab_is_eog(llama_model_get_vocab(model_), token);
}

std::string Model::description() const {
    char buf[256];
    llama_model_desc(model_, buf, sizeof buf);
    return buf;
}

std::vector<int32_t> Model::tokenize(const std::string &text, bool add_special, bool parse_special) const {
    const llama_vocab *vocab = llama_model_get_vocab(model_);
    std::vector<int32_t> out(text.size() + 8);
    int32_t n = llama_tokenize(vocab, text.data(), (int32_t)text.size(), out.data(), (int32_t)out.size(),
                               add_special, parse_special);
    if (n < 0) {
        out.resize(-n);
        n = llama_tokenize(vocab, text.data(), (int32_t)text.size(), out.data(), (int32_t)out.size(),
                           add_special, parse_special);
    }
    out.resize(n);
    return out;
}

std::string Model::detokenize(const std::vector<int32_t> &tokens) const {
    const llama_vocab *vocab = llama_model_get_vocab(model_);
    std::string out(tokens.size() * 8 + 16, '\0');
    int32_t n = llama_detokenize(vocab, tokens.data(), (int32_t)tokens.size(), out.data(),
                                 (int32_t)out.size(), false, false);
    if (n < 0) {
        out.resize(-n);
        n = llama_detokenize(vocab, tokens.data(), (int32_t)tokens.size(), out.data(), (int32_t)out.size(),
                             false, false);
    }
    out.resize(n);
    return out;
}

std::string Model::token_piece(int32_t token) const {
    const llama_vocab *vocab = llama_model_get_vocab(model_);
    char buf[128];
    int32_t n = llama_token_to_piece(vocab, token, buf, (int32_t)sizeof buf, 0, true);
    if (n >= 0) return std::string(buf, (size_t)n);
    std::string out((size_t)-n, '\0');
    n = llama_token_to_piece(vocab, token, out.data(), (int32_t)out.size(), 0, true);
    out.resize((size_t)std::max(n, 0));
    return out;
}

}  // namespace difr
