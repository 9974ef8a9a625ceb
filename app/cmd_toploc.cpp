// difr toploc build|verify: TOPLOC proofs (toploc 0.1.6's format) over activations in an .npz file, for
// interoperating with other provers and verifiers.
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "app.h"
#include "difr/error.h"
#include "difr/npz.h"
#include "difr/toploc.h"

namespace difr::app {

namespace {

struct ToplocOpts {
    std::string activations, proofs, semantics = "cpp";
    int32_t topk = 128, dbs = 32;
    bool skip_prefill = false;
    ToplocThresholds thresholds;
};

void add_common(CLI::App &cmd, ToplocOpts &o) {
    cmd.add_option(
           "--activations", o.activations,
           "npz with arrays a0, a1, ...: the prefill [L, H] unless --skip-prefill, then one [H] per decode "
           "step; uint16 (bf16 bits) or float32 (rounded to bf16)")
        ->required();
    cmd.add_option("--topk", o.topk, "activations per proof")->required();
    cmd.add_option("--decode-batching-size", o.dbs, "decode steps per proof")->required();
    cmd.add_flag("--skip-prefill", o.skip_prefill, "a0 is a decode step, not the prefill");
}

std::vector<std::vector<uint16_t>> chunks_load(const ToplocOpts &o) {
    if (o.topk < 1) throw InputError("--topk must be at least 1");
    if (o.dbs < 1) throw InputError("--decode-batching-size must be at least 1");
    const std::vector<std::vector<uint16_t>> acts = npz_activations_bf16(o.activations);
    std::vector<std::vector<uint16_t>> chunks = toploc_chunks(acts, o.dbs, o.skip_prefill);
    for (size_t c = 0; c < chunks.size(); ++c)
        if (chunks[c].size() < size_t(o.topk))
            throw InputError(o.activations + ": chunk " + std::to_string(c) + " has " +
                             std::to_string(chunks[c].size()) + " activations, fewer than --topk " +
                             std::to_string(o.topk));
    return chunks;
}

}  // namespace

void register_toploc(CLI::App &app) {
    CLI::App *cmd =
        app.add_subcommand("toploc", "TOPLOC proofs (PyPI toploc 0.1.6 format) over .npz activations");
    cmd->require_subcommand(1);

    auto b = std::make_shared<ToplocOpts>();
    CLI::App *build = cmd->add_subcommand("build", "print one base64 proof per chunk");
    add_common(*build, *b);
    build->callback([b] {
        const auto chunks = chunks_load(*b);
        for (size_t c = 0; c < chunks.size(); ++c) {
            ToplocProof p;
            try {
                p = toploc_proof_build(chunks[c], b->topk);
            } catch (const std::invalid_argument &e) {
                throw InputError(b->activations + ": chunk " + std::to_string(c) + ": " + e.what());
            }
            std::printf("%s\n", base64_encode(toploc_proof_bytes(p)).c_str());
        }
    });

    auto v = std::make_shared<ToplocOpts>();
    CLI::App *verify = cmd->add_subcommand("verify", "print one JSON result per proof; exit 1 if any fails");
    add_common(*verify, *v);
    verify->add_option("--proofs", v->proofs, "text file, one base64 proof per line")->required();
    verify
        ->add_option("--semantics", v->semantics,
                     "cpp (the package's C++ path: index mod m, upper median) or python (its list path)")
        ->check(CLI::IsMember({"cpp", "python"}))
        ->capture_default_str();
    verify->add_option("--max-exp-mismatches", v->thresholds.max_exp_mismatches)->capture_default_str();
    verify->add_option("--max-mant-err-mean", v->thresholds.max_mant_err_mean)->capture_default_str();
    verify->add_option("--max-mant-err-median", v->thresholds.max_mant_err_median)->capture_default_str();
    verify->callback([v] {
        const auto chunks = chunks_load(*v);
        std::ifstream in(v->proofs);
        if (!in) throw InputError("cannot read proofs file '" + v->proofs + "'");
        std::vector<std::pair<int64_t, ToplocProof>> proofs;  // (line, proof)
        std::string line;
        for (int64_t lineno = 1; std::getline(in, line); ++lineno) {
            while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
            if (line.empty()) continue;
            const std::string where = v->proofs + ":" + std::to_string(lineno);
            try {
                proofs.emplace_back(lineno, toploc_proof_parse(base64_decode(line), v->topk));
            } catch (const std::invalid_argument &e) {
                throw InputError(where + ": " + e.what());
            }
        }
        if (proofs.size() != chunks.size())
            throw InputError(v->proofs + ": " + std::to_string(proofs.size()) + " proofs for " +
                             std::to_string(chunks.size()) + " chunks of " + v->activations +
                             " (decode batching " + std::to_string(v->dbs) +
                             (v->skip_prefill ? ", no prefill" : ", with a prefill") + ")");
        const ToplocSemantics sem = v->semantics == "python" ? ToplocSemantics::python : ToplocSemantics::cpp;
        size_t failed = 0;
        for (size_t c = 0; c < chunks.size(); ++c) {
            const ToplocResult r = toploc_proof_verify(proofs[c].second, chunks[c], v->topk, sem);
            const bool pass = v->thresholds.pass(r);
            failed += !pass;
            std::printf("%s\n", nlohmann::ordered_json{{"chunk", c},
                                                       {"exp_mismatches", r.exp_mismatches},
                                                       {"mant_err_mean", r.mant_err_mean},
                                                       {"mant_err_median", r.mant_err_median},
                                                       {"pass", pass}}
                                    .dump()
                                    .c_str());
        }
        if (failed) {
            std::fflush(stdout);
            std::fprintf(stderr, "difr: %zu of %zu TOPLOC proofs fail the thresholds\n", failed,
                         chunks.size());
            std::exit(1);
        }
    });
}

}  // namespace difr::app
