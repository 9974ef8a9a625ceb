// The activation-proof lab's runner: each configuration generates with hidden-state capture (its provider's
// fingerprints and TOPLOC proofs), the reference verifies the same tokens with capture, and per-token
// features (Token-DiFR's metrics, fingerprint distances, TOPLOC results) are written to
// fingerprints/<config>.jsonl.
#include "difr/lab_fingerprints.h"

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "difr/error.h"
#include "difr/fingerprint.h"
#include "difr/halfprec.h"
#include "difr/noise.h"
#include "difr/prompts.h"
#include "difr/results.h"
#include "difr/toploc.h"
#include "difr/verify.h"

namespace difr {

namespace {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

// What the provider claims, per token: fingerprints at every k and per-token TOPLOC proofs at every k; per
// sequence: the TOPLOC chunk proofs.
struct ProviderProofs {
    std::vector<std::vector<std::vector<uint16_t>>> fp;  // [seq][token][k index * ... ] flattened per token
    std::vector<std::vector<std::vector<ToplocProof>>> tl;  // [seq][token][k index]
    std::vector<std::vector<ToplocProof>> chunks;           // [seq][chunk]
};

struct Projectors {
    std::vector<FingerprintProjector> p;
    std::vector<int32_t> offset;  // of each k in a token's concatenated fingerprint
    int32_t total = 0;
};

Projectors projectors_make(const FingerprintLabOptions &o, int32_t n_embd) {
    Projectors pr;
    for (int32_t k : o.ks) {
        FingerprintSpec s;
        s.seed = o.seed;
        s.dim = n_embd;
        s.k = k;
        pr.p.emplace_back(s);
        pr.offset.push_back(pr.total);
        pr.total += k;
    }
    return pr;
}

// Per sequence, rows arrive in order; proofs are built as they come (the chunk in progress is the only
// window of hidden states kept).
class ProofCollector {
public:
    ProofCollector(const FingerprintLabOptions &o, int32_t n_embd, size_t n_seqs)
        : o_(o), n_embd_(n_embd), pr_(projectors_make(o, n_embd)), open_(n_seqs) {
        proofs_.fp.resize(n_seqs);
        proofs_.tl.resize(n_seqs);
        proofs_.chunks.resize(n_seqs);
    }
    void add(size_t seq, std::span<const float> h) {
        std::vector<uint16_t> f((size_t)pr_.total);
        for (size_t i = 0; i < pr_.p.size(); ++i)
            pr_.p[i].project(h, std::span(f).subspan(size_t(pr_.offset[i]), size_t(o_.ks[i])));
        proofs_.fp[seq].push_back(std::move(f));
        std::vector<uint16_t> row(h.size());
        for (size_t i = 0; i < h.size(); ++i) row[i] = bf16_from_float(h[i]);
        std::vector<ToplocProof> per_k;
        for (int32_t k : o_.ks) per_k.push_back(toploc_proof_build(row, k));
        proofs_.tl[seq].push_back(std::move(per_k));
        open_[seq].insert(open_[seq].end(), row.begin(), row.end());
        if (open_[seq].size() == size_t(o_.toploc_chunk) * size_t(n_embd_)) flush(seq);
    }
    void flush(size_t seq) {
        if (open_[seq].empty()) return;
        proofs_.chunks[seq].push_back(toploc_proof_build(open_[seq], o_.toploc_topk));
        open_[seq].clear();
    }
    ProviderProofs take() {
        for (size_t s = 0; s < open_.size(); ++s) flush(s);
        return std::move(proofs_);
    }

private:
    const FingerprintLabOptions &o_;
    int32_t n_embd_;
    Projectors pr_;
    std::vector<std::vector<uint16_t>> open_;
    ProviderProofs proofs_;
};

ojson result_json(const ToplocResult &r) {
    auto v = [](double x) { return std::isfinite(x) && x < 1e18 ? ojson(x) : ojson(nullptr); };  // 2^64: null
    return ojson::array({r.exp_mismatches, v(r.mant_err_mean), v(r.mant_err_median)});
}

void config_run(const LabSpec &spec, const LabConfig &c, Model &ref, const std::string &ref_path,
                const LabEnvironment &env, const FingerprintLabOptions &o,
                const std::vector<std::vector<ChatMessage>> &convs, const std::string &path) {
    const auto t0 = std::chrono::steady_clock::now();
    std::unique_ptr<Model> provider = Model::load(lab_provider_model(c, ref_path, env), c.settings);
    std::vector<std::vector<int32_t>> prompts, claimed_prompts;
    for (const auto &conv : convs) {
        std::vector<ChatMessage> m = conv;
        if (!c.system_prompt.empty()) m.insert(m.begin(), ChatMessage{"system", c.system_prompt});
        prompts.push_back(provider->chat_tokenize(m));
        claimed_prompts.push_back(ref.chat_tokenize(conv));
    }
    GenerateOptions g;
    g.sampling = lab_provider_sampling(spec, c, "t1");
    g.noise = *noise_profile_from_name(spec.noise);
    g.max_tokens = spec.max_tokens;
    g.bug = c.bug;
    const int32_t n_embd = ref.n_embd();
    // Another model's hidden states have another width (and its text is re-tokenised): its proofs cannot
    // even be read against the reference (ActivationChecker refuses the file), so they are not built.
    std::string rejected;
    if (!c.model.empty())
        rejected = "another model (" + provider->description() + ", hidden size " +
                   std::to_string(provider->n_embd()) +
                   "; its text is re-tokenised): its proofs do not fit the "
                   "reference's hidden size " +
                   std::to_string(n_embd) + " or its tokens, and are refused outright";
    // A pre-fill attacker generates with the cheap model and computes its proofs with the full model, i.e. by
    // a prefill of the claimed tokens (seed document 003).
    const bool prefill = c.kind == "prefill";
    std::unique_ptr<ProofCollector> collector;
    if (rejected.empty() && !prefill) {
        collector = std::make_unique<ProofCollector>(o, n_embd, prompts.size());
        g.on_hidden = [&](size_t seq, int32_t, std::span<const float> h) { collector->add(seq, h); };
    }
    const std::vector<TokenSequence> made = generate(*provider, c.settings, prompts, g);
    std::vector<TokenSequence> claimed(made.size());
    for (size_t i = 0; i < made.size(); ++i) {
        claimed[i].prompt_token_ids = claimed_prompts[i];
        claimed[i].output_token_ids =
            c.model.empty() ? made[i].output_token_ids
                            : ref.tokenize(provider->detokenize(made[i].output_token_ids), false, false);
    }
    if (prefill) {
        collector = std::make_unique<ProofCollector>(o, n_embd, prompts.size());
        Scorer attacker(ref, spec.settings);
        attacker.score(
            claimed, [](size_t, int32_t, std::span<const float>) {}, {},
            [&](size_t seq, int32_t, std::span<const float> h) { collector->add(seq, h); });
    }
    const ProviderProofs proofs = collector ? collector->take() : ProviderProofs{};
    const double gen_secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    // The verifier: Token-DiFR metrics and its own hidden states of the claimed tokens.
    const Projectors pr = projectors_make(o, n_embd);
    std::vector<std::vector<ojson>> lines(claimed.size());
    std::vector<std::vector<uint16_t>> open(claimed.size());
    std::vector<std::vector<ojson>> chunk_lines(claimed.size());
    VerifyOptions v;
    v.sampling = lab_claimed(spec, "t1");
    v.noise = *noise_profile_from_name(spec.noise);
    std::vector<uint16_t> own((size_t)pr.total), row((size_t)n_embd);
    if (collector)
        v.hidden = [&](size_t seq, int32_t j, std::span<const float> h) {
            ojson l2 = ojson::array(), tl = ojson::array();
            for (size_t i = 0; i < pr.p.size(); ++i) {
                const size_t off = size_t(pr.offset[i]), k = size_t(o.ks[i]);
                pr.p[i].project(h, std::span(own).subspan(off, k));
                l2.push_back(fingerprint_distance(std::span(own).subspan(off, k),
                                                  std::span(proofs.fp[seq][size_t(j)]).subspan(off, k),
                                                  FingerprintDtype::f16));
            }
            for (size_t i = 0; i < h.size(); ++i) row[i] = bf16_from_float(h[i]);
            for (size_t i = 0; i < o.ks.size(); ++i)
                // DiFR's code passes a list of one tensor: the package's Python path (averaged median)
                tl.push_back(result_json(toploc_proof_verify(proofs.tl[seq][size_t(j)][i], row, o.ks[i],
                                                             ToplocSemantics::python)));
            lines[seq].push_back({{"l2", l2}, {"tl", tl}});
            open[seq].insert(open[seq].end(), row.begin(), row.end());
            const bool last = size_t(j) + 1 == claimed[seq].output_token_ids.size();
            if (open[seq].size() == size_t(o.toploc_chunk) * size_t(n_embd) || last) {
                const size_t ci = chunk_lines[seq].size();
                const ToplocResult r = toploc_proof_verify(proofs.chunks[seq][ci], open[seq], o.toploc_topk);
                chunk_lines[seq].push_back({{"seq", seq},
                                            {"chunk", ci},
                                            {"tokens", open[seq].size() / size_t(n_embd)},
                                            {"tl", result_json(r)}});
                open[seq].clear();
            }
        };
    std::vector<std::vector<TokenMetrics>> metrics(claimed.size());
    verify_sequences(
        ref, spec.settings, claimed, v, nullptr, {},
        [&](size_t seq, std::span<const TokenMetrics> m) { metrics[seq].assign(m.begin(), m.end()); });

    ojson head = {{"config", c.name},
                  {"kind", c.kind},
                  {"role", c.role == LabRole::honest ? "honest" : "deviation"},
                  {"description", c.description},
                  {"ks", o.ks},
                  {"toploc_topk", o.toploc_topk},
                  {"toploc_chunk", o.toploc_chunk},
                  {"seed", o.seed},
                  {"rejected", rejected.empty() ? ojson(nullptr) : ojson(rejected)},
                  {"provider_seconds", gen_secs}};
    std::string text = head.dump() + "\n";
    int64_t tokens = 0;
    for (size_t s = 0; s < claimed.size(); ++s) {
        for (size_t j = 0; j < metrics[s].size(); ++j) {
            const TokenMetrics &m = metrics[s][j];
            ojson t = {{"seq", s},
                       {"pos", j},
                       {"em", m.exact_match},
                       {"prob", m.prob},
                       {"margin", std::isfinite(m.margin) ? ojson(m.margin) : ojson(nullptr)}};
            if (j < lines[s].size()) {
                t["l2"] = lines[s][j]["l2"];
                t["tl"] = lines[s][j]["tl"];
            }
            text += t.dump() + "\n";
            ++tokens;
        }
        for (const ojson &cl : chunk_lines[s]) text += cl.dump() + "\n";
    }
    file_write_atomic(path, text);
    if (env.log) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "  %s: %lld tokens, %.1f s", c.name.c_str(), (long long)tokens,
                      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        env.log(buf);
    }
}

}  // namespace

void fingerprint_lab_run(const LabSpec &spec, const std::string &out_dir, const LabEnvironment &env,
                         const FingerprintLabOptions &o) {
    for (int32_t k : o.ks)
        if (k < kFingerprintMinK || k > kFingerprintMaxK)
            throw InputError("fingerprint lab: k " + std::to_string(k) + " is outside [2, 128]");
    const std::string ref_path = env.model_resolve(spec.reference);
    std::vector<std::vector<ChatMessage>> convs = conversations_read(spec.prompts);
    if ((int32_t)convs.size() < spec.n_prompts)
        throw InputError(spec.path + ": key 'n_prompts': " + std::to_string(spec.n_prompts) +
                         " prompts wanted, but '" + spec.prompts + "' holds only " +
                         std::to_string(convs.size()));
    convs.resize(size_t(spec.n_prompts));
    auto ref = Model::load(ref_path, spec.settings);
    const std::string dir = out_dir + "/fingerprints";
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw InputError("cannot create '" + dir + "': " + ec.message());
    ojson index = {{"lab", spec.name},
                   {"reference", ref_path},
                   {"n_prompts", spec.n_prompts},
                   {"max_tokens", spec.max_tokens},
                   {"claimed",
                    {{"temperature", spec.claimed.temperature},
                     {"top_k", spec.claimed.top_k},
                     {"top_p", spec.claimed.top_p},
                     {"seed", spec.claimed.seed}}},
                   {"configs", ojson::array()}};
    for (const LabConfig &c : spec.configs) {
        const std::string path = dir + "/" + c.name + ".jsonl";
        if (fs::is_regular_file(path)) {
            if (env.log) env.log(c.name + ": complete, kept");
        } else {
            if (env.log) env.log(c.name + ": " + c.description);
            config_run(spec, c, *ref, ref_path, env, o, convs, path);
        }
        index["configs"].push_back(c.name);
        file_write_atomic(dir + "/lab.json", index.dump(2) + "\n");
    }
}

}  // namespace difr
