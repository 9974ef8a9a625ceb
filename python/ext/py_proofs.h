// Activation proofs and artifacts from Python: the results of a fingerprint / TOPLOC check as Python objects,
// and the thresholds a TOPLOC chunk must meet.
#pragma once

#include "difr/fingerprint_proofs.h"
#include "py_common.h"

namespace difr::py {

// {"fingerprints": {stats..., "l2": [array per sequence], "relative": [...]} | None,
//  "toploc": {stats..., "chunks": [{"seq", "chunk", "first_token", "tokens", "exp_mismatches",
//  "mant_err_mean", "mant_err_median", "pass"}, ...]} | None}: what `difr verify --fingerprints` writes to
// summary.json and OUT/{fingerprints,toploc}.jsonl.
nb::dict activation_checks_to_python(const ActivationChecker &checker, const ToplocThresholds &thresholds);

}  // namespace difr::py
