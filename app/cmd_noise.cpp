// difr noise: one token's noise under a counter-based profile, for checking a replay by hand.
#include <cinttypes>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "app.h"
#include "difr/error.h"
#include "difr/noise.h"

namespace difr::app {

void register_noise(CLI::App &app) {
    struct Opts {
        std::string noise = "vllm";
        uint64_t seed = 0;
        int64_t position = 0;
        uint32_t token = 0;
    };
    auto o = std::make_shared<Opts>();
    CLI::App *cmd = app.add_subcommand(
        "noise", "print one token's raw random words, uniform u and Gumbel noise G under a profile, as JSON");
    cmd->add_option("--noise", o->noise,
                    "a counter-based profile: vllm, vllm-fp64, vllm-0.30, vllm-0.30-fp64, "
                    "vllm-0.22, sglang")
        ->capture_default_str();
    cmd->add_option("--seed", o->seed,
                    "the request's seed (0 to 2^64 - 1; an engine's negative int64 seed is "
                    "its two's complement)")
        ->capture_default_str();
    cmd->add_option(
           "--position", o->position,
           "absolute position of the token whose logits are sampled: prompt length - 1 + output index")
        ->capture_default_str();
    cmd->add_option("--token", o->token,
                    "the column the noise is keyed by: the token id (SGLang with top-k/top-p: the rank by "
                    "probability, 0 for the most likely)")
        ->capture_default_str();
    cmd->callback([o] {
        const auto profile = noise_profile_from_name(o->noise);
        if (!profile)
            throw InputError("--noise: unknown noise profile '" + o->noise +
                             "' (profiles: " + noise_profile_names() + ")");
        if (!noise_profile_counter_based(*profile))
            throw InputError("--noise " + o->noise +
                             ": not counter-based (its noise depends on every earlier draw), so no single "
                             "token's noise can be printed; counter-based: vllm, vllm-fp64, vllm-0.30, "
                             "vllm-0.30-fp64, vllm-0.22, sglang");
        const NoiseSample s = noise_sample(*profile, o->seed, o->position, o->token);
        nlohmann::ordered_json j;
        j["profile"] = std::string(noise_profile_name(*profile));
        j["covers"] = std::string(noise_profile_covers(*profile));
        j["seed"] = o->seed;
        j["position"] = o->position;
        j["token"] = o->token;
        for (const auto &[name, word] : s.words) {
            char hex[16];
            std::snprintf(hex, sizeof hex, "0x%08" PRIx32, word);
            j[name] = hex;
        }
        // The exact values: doubles print as the shortest decimal that reads back to the same bits; the fp32
        // profiles' values are floats widened to double, so they read back exactly too.
        j["u"] = s.u;
        j["gumbel"] = s.gumbel;
        j["precision"] = s.fp64 ? "fp64" : "fp32";
        std::printf("%s\n", j.dump(2).c_str());
    });
}

}  // namespace difr::app
