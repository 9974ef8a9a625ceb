#include "difr/provenance.h"

#include <nlohmann/json.hpp>

#include "difr/noise.h"
#include "difr/results.h"

namespace difr {

std::string provenance_json(const Model &model, const EngineSettings &settings,
                            const SamplingParams &sampling, const std::string &noise) {
    nlohmann::ordered_json j;
    j["difr_version"] = "0.1.0";
    j["model"] = model.path();
    j["model_sha256"] = file_sha256(model.path());
    j["model_description"] = model.description();
    j["n_vocab"] = model.n_vocab();
    j["sampling"] = {{"temperature", sampling.temperature},
                     {"top_k", sampling.top_k},
                     {"top_p", sampling.top_p},
                     {"seed", sampling.seed}};
    if (sampling.min_p > 0.0f) j["sampling"]["min_p"] = sampling.min_p;
    j["noise"] = noise;
    // The engine releases the profile replays, so that a result names them (auto: filled in by the caller).
    if (auto profile = noise_profile_from_name(noise))
        j["noise_covers"] = std::string(noise_profile_covers(*profile));
    j["engine"] = nlohmann::ordered_json::parse(settings.to_json());
    nlohmann::ordered_json machine = nlohmann::ordered_json::parse(engine_machine_json());
    machine["weight_buffers"] = model.weight_buffers();
    j["machine"] = machine;
    return j.dump();
}

}  // namespace difr
