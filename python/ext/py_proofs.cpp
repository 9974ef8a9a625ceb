// Artifacts, activation fingerprints and TOPLOC proofs from Python: `difr validate`, `difr toploc
// build|verify` and the results of `difr verify --fingerprints` (verify_local in py_engine.cpp runs the
// check).
#include "py_proofs.h"

#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cmath>
#include <optional>
#include <stdexcept>

#include "difr/artifact_validate.h"
#include "difr/error.h"
#include "difr/halfprec.h"
#include "difr/npz.h"
#include "difr/reference.h"
#include "difr/toploc.h"
#include "py_bindings.h"
#include "py_model.h"

namespace difr::py {

nb::dict activation_checks_to_python(const ActivationChecker &checker, const ToplocThresholds &thresholds) {
    const ActivationProofsFile &claimed = checker.claimed();
    nb::dict d;
    d["fingerprints"] = nb::none();
    d["toploc"] = nb::none();
    if (claimed.spec.fingerprint) {
        nb::dict f = nb::cast<nb::dict>(json_to_python(fingerprint_stats_json(checker.fingerprint_stats())));
        nb::list l2, relative;
        for (const SequenceCheck &s : checker.results()) {
            std::vector<double> a, r;
            for (const TokenFingerprintCheck &t : s.tokens) {
                a.push_back(t.l2);
                r.push_back(t.relative);
            }
            l2.append(numpy_from(std::move(a)));
            relative.append(numpy_from(std::move(r)));
        }
        f["l2"] = l2;
        f["relative"] = relative;
        d["fingerprints"] = f;
    }
    if (claimed.spec.toploc) {
        nb::dict t =
            nb::cast<nb::dict>(json_to_python(toploc_stats_json(checker.toploc_stats(), thresholds)));
        nb::list results;
        for (size_t seq = 0; seq < checker.results().size(); ++seq) {
            const std::vector<ChunkToplocCheck> &chunks = checker.results()[seq].chunks;
            for (size_t c = 0; c < chunks.size(); ++c) {
                nb::dict r;
                r["seq"] = seq;
                r["chunk"] = c;
                r["first_token"] = chunks[c].first_token;
                r["tokens"] = chunks[c].tokens;
                r["exp_mismatches"] = chunks[c].result.exp_mismatches;
                r["mant_err_mean"] = chunks[c].result.mant_err_mean;
                r["mant_err_median"] = chunks[c].result.mant_err_median;
                r["pass"] = chunks[c].pass;
                results.append(r);
            }
        }
        t["results"] = results;
        d["toploc"] = t;
    }
    return d;
}

namespace {

// An .npz path (as `difr toploc --activations`) or a sequence of arrays: uint16 (bf16 bits) or float32
// (rounded to bf16 to nearest even, as the npz reader and torch's .to(torch.bfloat16) do), any shape,
// C-contiguous.
std::vector<std::vector<uint16_t>> activations_from_python(nb::handle activations) {
    if (nb::isinstance<nb::str>(activations)) return npz_activations_bf16(nb::cast<std::string>(activations));
    std::vector<std::vector<uint16_t>> out;
    size_t i = 0;
    for (nb::handle item : activations) {
        const std::string where = "activations[" + std::to_string(i++) + "]";
        nb::ndarray<nb::ro, nb::c_contig, nb::device::cpu> a;
        if (!nb::try_cast(item, a))
            throw nb::type_error((where +
                                  ": expected a C-contiguous CPU array (uint16 bf16 bits or float32), got " +
                                  std::string(nb::type_name(item.type()).c_str()))
                                     .c_str());
        std::vector<uint16_t> bits(a.size());
        if (a.dtype() == nb::dtype<uint16_t>()) {
            const auto *p = static_cast<const uint16_t *>(a.data());
            bits.assign(p, p + a.size());
        } else if (a.dtype() == nb::dtype<float>()) {
            const auto *p = static_cast<const float *>(a.data());
            for (size_t k = 0; k < a.size(); ++k) bits[k] = bf16_from_float(p[k]);
        } else {
            throw nb::type_error((where + ": dtype must be uint16 (bf16 bits) or float32").c_str());
        }
        out.push_back(std::move(bits));
    }
    return out;
}

std::vector<std::vector<uint16_t>> toploc_chunks_checked(const std::vector<std::vector<uint16_t>> &acts,
                                                         int32_t topk, int32_t dbs, bool skip_prefill) {
    if (topk < 1) throw InputError("topk must be at least 1");
    if (dbs < 1) throw InputError("decode_batching_size must be at least 1");
    if (acts.empty()) throw InputError("no activations");
    std::vector<std::vector<uint16_t>> chunks = toploc_chunks(acts, dbs, skip_prefill);
    for (size_t c = 0; c < chunks.size(); ++c)
        if (chunks[c].size() < size_t(topk))
            throw InputError("chunk " + std::to_string(c) + " has " + std::to_string(chunks[c].size()) +
                             " activations, fewer than topk " + std::to_string(topk));
    return chunks;
}

std::vector<std::string> toploc_build(nb::handle activations, int32_t topk, int32_t dbs, bool skip_prefill) {
    const std::vector<std::vector<uint16_t>> acts = activations_from_python(activations);
    nb::gil_scoped_release release;
    const auto chunks = toploc_chunks_checked(acts, topk, dbs, skip_prefill);
    std::vector<std::string> proofs;
    for (size_t c = 0; c < chunks.size(); ++c) {
        try {
            proofs.push_back(base64_encode(toploc_proof_bytes(toploc_proof_build(chunks[c], topk))));
        } catch (const std::invalid_argument &e) {
            throw InputError("chunk " + std::to_string(c) + ": " + e.what());
        }
    }
    return proofs;
}

nb::list toploc_verify(nb::handle activations, const std::vector<std::string> &proofs, int32_t topk,
                       int32_t dbs, bool skip_prefill, const std::string &semantics,
                       const ToplocThresholds &thresholds) {
    const std::vector<std::vector<uint16_t>> acts = activations_from_python(activations);
    if (semantics != "cpp" && semantics != "python")
        throw InputError("semantics must be 'cpp' or 'python', got '" + semantics + "'");
    const ToplocSemantics sem = semantics == "python" ? ToplocSemantics::python : ToplocSemantics::cpp;
    std::vector<ToplocResult> results;
    {
        nb::gil_scoped_release release;
        const auto chunks = toploc_chunks_checked(acts, topk, dbs, skip_prefill);
        if (proofs.size() != chunks.size())
            throw InputError(std::to_string(proofs.size()) + " proofs for " + std::to_string(chunks.size()) +
                             " chunks (decode batching " + std::to_string(dbs) +
                             (skip_prefill ? ", no prefill" : ", with a prefill") + ")");
        for (size_t c = 0; c < chunks.size(); ++c) {
            ToplocProof p;
            try {
                p = toploc_proof_parse(base64_decode(proofs[c]), topk);
            } catch (const std::invalid_argument &e) {
                throw InputError("proof " + std::to_string(c) + ": " + e.what());
            }
            results.push_back(toploc_proof_verify(p, chunks[c], topk, sem));
        }
    }
    nb::list out;
    for (size_t c = 0; c < results.size(); ++c) {
        nb::dict r;
        r["chunk"] = c;
        r["exp_mismatches"] = results[c].exp_mismatches;
        r["mant_err_mean"] = results[c].mant_err_mean;
        r["mant_err_median"] = results[c].mant_err_median;
        r["pass"] = thresholds.pass(results[c]);
        out.append(r);
    }
    return out;
}

nb::object validate(std::optional<PyModel *> model, const std::string &artifact, const std::string &against,
                    const std::string &preset, std::optional<double> gonka_threshold,
                    std::optional<double> joint_threshold, std::optional<double> difr_threshold,
                    const std::string &noise, bool token_difr, const std::string &reference,
                    const std::string &reference_model, const std::string &api_key_env, int32_t topk,
                    double timeout, int32_t max_attempts) {
    const HttpOptions http = http_options(timeout, 10.0, max_attempts, 1.0);
    ValidateOptions vo;
    validate_options_preset(vo, preset);
    if (gonka_threshold) {
        if (!(*gonka_threshold >= 0.0 && *gonka_threshold <= 1.0))
            throw InputError("gonka_threshold must lie in [0, 1], got " + std::to_string(*gonka_threshold));
        vo.gonka_threshold = *gonka_threshold;
        vo.gonka_threshold_source = "gonka_threshold";
    }
    if (joint_threshold) {
        vo.joint_threshold = *joint_threshold;
        vo.joint_threshold_source = "joint_threshold";
    }
    if (difr_threshold) {
        if (!(*difr_threshold >= 0.0 && *difr_threshold <= 1.0))
            throw InputError("difr_threshold must lie in [0, 1], got " + std::to_string(*difr_threshold));
        vo.difr_threshold = *difr_threshold;
        vo.difr_threshold_source = "difr_threshold";
    }
    if (!noise_profile_from_name(noise)) throw InputError("unknown noise profile '" + noise + "'");
    vo.noise = noise;
    vo.token_difr = token_difr;
    std::string report;
    if (!against.empty()) {
        nb::gil_scoped_release release;
        report = artifact_validate_against(artifact_read(artifact), artifact_read(against), vo);
    } else {
        if (!model) throw InputError("validating against a reference needs a model (or pass against=)");
        PyModel &pm = **model;
        const ReferenceSpec ref =
            reference_spec_parse(reference, reference_model, api_key_env, topk, "reference");
        if (ref.kind == ReferenceSpec::Kind::local && pm.vocab_only)
            throw InputError("the model was loaded vocab_only: the local reference needs its weights");
        Model &m = pm.get();
        report = run_interruptible<std::string>([&](const InterruptCheck &) {
            return artifact_validate(artifact_read(artifact), m, pm.settings, ref, vo, http);
        });
    }
    return json_to_python(report);
}

}  // namespace

void register_proofs(nb::module_ &m) {
    nb::class_<ToplocThresholds>(m, "ToplocThresholds",
                                 "a TOPLOC chunk passes when all three hold (toploc-experiments' defaults)")
        .def(
            "__init__",
            [](ToplocThresholds *t, int32_t e, double mean, double median) {
                new (t) ToplocThresholds{e, mean, median};
            },
            nb::kw_only(), nb::arg("max_exp_mismatches") = 38, nb::arg("max_mant_err_mean") = 10.0,
            nb::arg("max_mant_err_median") = 8.0)
        .def_rw("max_exp_mismatches", &ToplocThresholds::max_exp_mismatches)
        .def_rw("max_mant_err_mean", &ToplocThresholds::max_mant_err_mean)
        .def_rw("max_mant_err_median", &ToplocThresholds::max_mant_err_median)
        .def("__repr__", [](const ToplocThresholds &t) {
            return "ToplocThresholds(max_exp_mismatches=" + std::to_string(t.max_exp_mismatches) +
                   ", max_mant_err_mean=" + std::to_string(t.max_mant_err_mean) +
                   ", max_mant_err_median=" + std::to_string(t.max_mant_err_median) + ")";
        });
    m.def("toploc_build", &toploc_build, nb::arg("activations"), nb::arg("topk"),
          nb::arg("decode_batching_size"), nb::arg("skip_prefill"),
          "one base64 TOPLOC proof per chunk (difr toploc build)");
    m.def("toploc_verify", &toploc_verify, nb::arg("activations"), nb::arg("proofs"), nb::arg("topk"),
          nb::arg("decode_batching_size"), nb::arg("skip_prefill"), nb::arg("semantics"),
          nb::arg("thresholds"), "one result per chunk (difr toploc verify)");
    m.def("validate", &validate, nb::arg("model").none(), nb::arg("artifact"), nb::arg("against"),
          nb::arg("preset"), nb::arg("gonka_threshold").none(), nb::arg("joint_threshold").none(),
          nb::arg("difr_threshold").none(), nb::arg("noise"), nb::arg("token_difr"), nb::arg("reference"),
          nb::arg("reference_model"), nb::arg("api_key_env"), nb::arg("topk"), nb::arg("timeout"),
          nb::arg("max_attempts"), "the report of difr validate, as Python objects");
}

}  // namespace difr::py
