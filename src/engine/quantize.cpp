#include "difr/quantize.h"

#include <llama.h>

#include <filesystem>
#include <utility>

#include "difr/error.h"
#include "engine_internal.h"

namespace difr {

namespace {

const std::pair<const char *, llama_ftype> kTypes[] = {
    {"F32", LLAMA_FTYPE_ALL_F32},          {"F16", LLAMA_FTYPE_MOSTLY_F16},
    {"BF16", LLAMA_FTYPE_MOSTLY_BF16},     {"Q8_0", LLAMA_FTYPE_MOSTLY_Q8_0},
    {"Q6_K", LLAMA_FTYPE_MOSTLY_Q6_K},     {"Q5_0", LLAMA_FTYPE_MOSTLY_Q5_0},
    {"Q5_1", LLAMA_FTYPE_MOSTLY_Q5_1},     {"Q5_K_S", LLAMA_FTYPE_MOSTLY_Q5_K_S},
    {"Q5_K_M", LLAMA_FTYPE_MOSTLY_Q5_K_M}, {"Q4_0", LLAMA_FTYPE_MOSTLY_Q4_0},
    {"Q4_1", LLAMA_FTYPE_MOSTLY_Q4_1},     {"Q4_K_S", LLAMA_FTYPE_MOSTLY_Q4_K_S},
    {"Q4_K_M", LLAMA_FTYPE_MOSTLY_Q4_K_M}, {"Q3_K_S", LLAMA_FTYPE_MOSTLY_Q3_K_S},
    {"Q3_K", LLAMA_FTYPE_MOSTLY_Q3_K_M},  // llama-quantize's alias
    {"Q3_K_M", LLAMA_FTYPE_MOSTLY_Q3_K_M}, {"Q3_K_L", LLAMA_FTYPE_MOSTLY_Q3_K_L},
    {"Q2_K", LLAMA_FTYPE_MOSTLY_Q2_K},     {"Q2_K_S", LLAMA_FTYPE_MOSTLY_Q2_K_S},
};

}  // namespace

std::vector<std::string> quantize_type_names() {
    std::vector<std::string> names;
    for (const auto &[name, ftype] : kTypes) names.emplace_back(name);
    return names;
}

void quantize_model(const std::string &in_path, const std::string &out_path, const std::string &type,
                    int32_t n_threads) {
    engine_init();
    const llama_ftype *ftype = nullptr;
    std::string known;
    for (const auto &[name, ft] : kTypes) {
        if (type == name) ftype = &ft;
        known += known.empty() ? "" : ", ";
        known += name;
    }
    if (!ftype) throw InputError("unknown quantisation type '" + type + "' (known: " + known + ")");
    if (!std::filesystem::is_regular_file(in_path))
        throw InputError("model file '" + in_path + "' does not exist");

    llama_model_quantize_params qp = llama_model_quantize_default_params();
    qp.nthread = n_threads;
    qp.ftype = *ftype;
    qp.allow_requantize = true;  // the embedded reference is already Q4_1
    const std::string tmp = out_path + ".part";
    if (llama_model_quantize(in_path.c_str(), tmp.c_str(), &qp) != 0) {
        std::filesystem::remove(tmp);
        throw InputError("llama_model_quantize failed to write '" + out_path + "' as " + type);
    }
    std::filesystem::rename(tmp, out_path);
}

}  // namespace difr
