// difr quantize: requantise a model (how impostors are made for audits and the detection lab).
#include <cstdio>

#include "app.h"
#include "difr/quantize.h"

namespace difr::app {

void register_quantize(CLI::App &app) {
    struct Opts {
        std::string model, type, out;
        int32_t threads = 0;
    };
    auto o = std::make_shared<Opts>();
    CLI::App *cmd =
        app.add_subcommand("quantize", "requantise a GGUF model with llama.cpp (e.g. to make an impostor)");
    cmd->add_option("-m,--model", o->model, "GGUF file or cached model name (default: the embedded model)");
    cmd->add_option("--type", o->type, "target type: Q8_0, Q4_0, Q3_K_M, Q2_K, ...")->required();
    cmd->add_option("-o,--out", o->out, "output GGUF file")->required();
    cmd->add_option("-t,--threads", o->threads, "threads (default: all cores)");
    cmd->callback([o] {
        const std::string in = model_resolve(o->model);
        quantize_model(in, o->out, o->type, o->threads);
        std::printf("quantised %s to %s -> %s\n", in.c_str(), o->type.c_str(), o->out.c_str());
    });
}

}  // namespace difr::app
