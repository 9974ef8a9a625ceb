// Provenance of a run: model file and hash, engine settings, sampling, noise profile, difr version. Stored in
// every output file so a result says what produced it.
#pragma once

#include <string>

#include "difr/model.h"
#include "difr/sampling.h"

namespace difr {

// A JSON object (text): {"difr_version", "model", "model_sha256", "model_description", "n_vocab", "sampling",
// "noise", "engine", "machine"}; machine is engine_machine_json() plus the model's "weight_buffers".
std::string provenance_json(const Model &model, const EngineSettings &settings,
                            const SamplingParams &sampling, const std::string &noise);

}  // namespace difr
