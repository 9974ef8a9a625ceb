// Gonka's weighted seed proof (`difr validate`, seed proof "weighted"): the logprob strings of an artifact's
// top-k list and the sampling parameters, parsed as decimals (seed_decimal) and turned into integer weights.
// Input: lines "token_id<TAB>logprob"; the first line is "temperature[<TAB>top_p[<TAB>min_p[<TAB>top_k]]]".
// Bad decimals or magnitudes are InputError; the weights of an accepted list sum to 65536.
#include <map>
#include <sstream>

#include "difr/error.h"
#include "difr/seed_proof.h"
#include "fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    using namespace difr;
    std::istringstream in(fuzz::fuzz_text(data, size));
    std::string line;
    if (!std::getline(in, line)) return 0;
    DetsampleParams params;
    {
        std::istringstream p(line);
        std::string f;
        std::getline(p, params.temperature, '\t');
        if (std::getline(p, f, '\t') && !f.empty()) params.top_p = f;
        if (std::getline(p, f, '\t') && !f.empty()) params.min_p = f;
        if (std::getline(p, f, '\t') && !f.empty() && f.size() < 6 &&
            f.find_first_not_of("0123456789") == std::string::npos)
            params.top_k = std::stoi(f);
    }
    std::map<std::string, std::string> logprobs;
    while (std::getline(in, line)) {
        const size_t tab = line.find('\t');
        if (tab == std::string::npos) continue;
        logprobs[line.substr(0, tab)] = line.substr(tab + 1);
    }
    std::map<std::string, int64_t> w;
    try {
        w = detsample_weights(logprobs, params);
    } catch (const InputError &) {
        return 0;
    } catch (const std::exception &e) {
        fuzz::fuzz_fail(std::string("detsample_weights threw ") + typeid(e).name() + ": " + e.what());
    }
    int64_t sum = 0;
    for (const auto &[k, v] : w) {
        if (v < 0) fuzz::fuzz_fail("a negative weight for " + k);
        sum += v;
        if (!logprobs.count(k)) fuzz::fuzz_fail("a weight for a token not in the list: " + k);
    }
    if (sum != 65536) fuzz::fuzz_fail("weights sum to " + std::to_string(sum) + ", not 65536");
    Sha256CounterRng rng("fuzz");
    try {
        const std::string t = detsample_sample(logprobs, params, rng);
        if (!w.count(t) || w.at(t) == 0) fuzz::fuzz_fail("sampled a token of weight 0: " + t);
    } catch (const InputError &) {
        fuzz::fuzz_fail("detsample_sample refused what detsample_weights accepted");
    }
    return 0;
}
