// The parts of the _difr module, one function per source file.
#pragma once

#include <nanobind/nanobind.h>

namespace difr::py {

void register_metrics(nanobind::module_ &m);  // py_metrics.cpp: token_metrics on arrays of logits
void register_engine(nanobind::module_ &m);   // py_engine.cpp: models, local verification, prompt sets
void register_remote(nanobind::module_ &m);   // py_remote.cpp: remote references, provider audits
void register_proofs(nanobind::module_ &m);   // py_proofs.cpp: artifacts, TOPLOC proofs

}  // namespace difr::py
