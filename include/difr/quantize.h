// Requantising a GGUF model with llama_model_quantize: how difr makes impostors (a cheaper model that claims
// to be the reference) for audits and the detection lab.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace difr {

// Type names as llama-quantize spells them: Q8_0, Q4_0, Q4_1, Q5_K_M, Q4_K_M, Q3_K_M, Q2_K, F16, ...
std::vector<std::string> quantize_type_names();

// Writes `out_path` quantised to `type` from `in_path`, requantising already quantised tensors.
// Throws InputError for an unknown type or a failed quantisation.
void quantize_model(const std::string &in_path, const std::string &out_path, const std::string &type,
                    int32_t n_threads = 0);

}  // namespace difr
