// The Model class of the Python module: a loaded GGUF and the engine settings it verifies with.
#pragma once

#include <memory>

#include "difr/error.h"
#include "difr/model.h"

namespace difr::py {

struct PyModel {
    std::unique_ptr<Model> model;
    EngineSettings settings;
    bool vocab_only = false;

    Model &get() const {
        if (!model) throw InputError("the model was closed");
        return *model;
    }
};

}  // namespace difr::py
