// The audit pipeline: generate (stored as answers arrive) -> re-tokenise -> verify (stored per sequence)
// -> summarise from the store.
#include "difr/audit.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "difr/error.h"
#include "difr/reference.h"
#include "difr/results.h"

namespace difr {

using json = nlohmann::ordered_json;

namespace {

std::string sampling_json(const AuditOptions &o) {
    return json{
        {"temperature", o.sampling.temperature},
        {"top_k", o.sampling.top_k},
        {"top_p", o.sampling.top_p},
        {"seed", o.sampling.seed},
        {"noise", o.identify.empty() ? std::string(noise_profile_name(o.noise)) : std::string("auto")}}
        .dump();
}

std::string messages_json(const std::vector<ChatMessage> &conv) {
    json a = json::array();
    for (const ChatMessage &m : conv) a.push_back({{"role", m.role}, {"content", m.content}});
    return a.dump();
}

// Generates the answers the store does not hold yet, storing each one the moment it is parsed and checked.
void generate_missing(const std::vector<std::vector<ChatMessage>> &convs,
                      const std::vector<std::string> &keys, const AuditTarget &t, const AuditOptions &o,
                      RunStore &store, AuditResult &result) {
    std::vector<size_t> missing;
    for (size_t i = 0; i < convs.size(); ++i)
        if (!store.response_get(keys[i])) missing.push_back(i);
    result.responses_reused = (int64_t)(convs.size() - missing.size());
    if (missing.empty()) return;

    const std::string api_key = endpoint_api_key(t.endpoint);
    const std::string url = t.endpoint.base_url + "/chat/completions";
    const std::string sampling = sampling_json(o);
    ProgressBar bar("generate " + t.name, missing.size());
    std::mutex mu;
    size_t done = 0;
    try {
        parallel_for(missing.size(), o.concurrency, [&](size_t m) {
            if (o.interrupt_check) o.interrupt_check();
            const size_t i = missing[m];
            ChatRequest cr;
            cr.messages = convs[i];
            cr.sampling = o.sampling;
            cr.send_seed = o.send_seed;
            cr.max_tokens = o.max_tokens;
            cr.pin_provider = t.pin_provider;
            cr.logprobs = o.request_logprobs;
            HttpRequest req;
            req.url = url;
            req.body = chat_request_json(cr, t.endpoint.model);
            req.api_key = api_key;
            const std::string where =
                t.name + ": POST " + url_redact(url) + " (prompt " + std::to_string(i) + ")";
            const HttpResponse resp = http_send(req, o.http);
            const ChatResponse parsed = chat_response_parse(resp.body, where);
            if (!t.pin_provider.empty() && !provider_matches(t.pin_provider, parsed.provider))
                throw RemoteError(where + ": answered by provider '" + parsed.provider +
                                  "', not the pinned '" + t.pin_provider +
                                  "' (allow_fallbacks was false); the answer was not stored");
            StoredResponse s;
            s.key = keys[i];
            s.target = t.name;
            s.model = t.endpoint.model;
            s.prompt_index = (int64_t)i;
            s.sampling_json = sampling;
            s.request_json = req.body;
            s.body = resp.body;
            s.content = parsed.content;
            s.reasoning = parsed.reasoning;
            s.finish_reason = parsed.finish_reason;
            s.answered_by = parsed.provider;
            s.provider_token_ids = parsed.token_ids;
            s.attempts = resp.attempts;
            store.response_put(s);
            std::lock_guard<std::mutex> lock(mu);
            ++result.responses_new;
            if (o.progress) bar.update(++done);
        });
    } catch (const RemoteError &e) {
        throw RemoteError(std::string(e.what()) + "\n" +
                          std::to_string(result.responses_reused + result.responses_new) + " of " +
                          std::to_string(convs.size()) + " answers of " + t.name + " are stored in " +
                          store.path() + "; run the same command again to continue");
    }
    if (o.progress) bar.finish();
}

// What the reference conditions on: the conversation as sent, after the system message the provider is
// assumed to add.
std::vector<ChatMessage> verified_conversation(const std::vector<ChatMessage> &sent,
                                               const std::string &system) {
    if (system.empty()) return sent;
    std::vector<ChatMessage> conv{ChatMessage{"system", system}};
    conv.insert(conv.end(), sent.begin(), sent.end());
    return conv;
}

void retokenization_count(const std::vector<int32_t> &provider_ids, const std::vector<int32_t> &retok,
                          RetokenizationStats &s) {
    ++s.sequences_compared;
    if (provider_ids != retok) ++s.sequences_changed;
    s.tokens_compared += (int64_t)provider_ids.size();
    for (size_t j = 0; j < provider_ids.size(); ++j)
        if (j >= retok.size() || retok[j] != provider_ids[j]) ++s.tokens_changed;
}

int64_t sequences_with_output(const std::vector<TokenSequence> &seqs) {
    int64_t n = 0;
    for (const TokenSequence &s : seqs) n += s.output_token_ids.empty() ? 0 : 1;
    return n;
}

// Verifies against `ref` every sequence with output whose row (ref_keys[i]) the store lacks, storing each
// sequence as it is finished. Returns how many were verified now.
int64_t reference_rows_fill(Model &model, const ReferenceSpec &ref, const std::string &description,
                            const std::vector<TokenSequence> &seqs, const std::vector<std::string> &ref_keys,
                            const std::vector<std::string> &response_keys, const AuditOptions &o,
                            RunStore &store, const std::string &label) {
    std::vector<size_t> todo;
    for (size_t i = 0; i < seqs.size(); ++i)
        if (!seqs[i].output_token_ids.empty() && !store.reference_get(ref_keys[i])) todo.push_back(i);
    auto put = [&](size_t i, std::span<const TokenMetrics> ms) {
        StoredReference r;
        r.key = ref_keys[i];
        r.response_key = response_keys[i];
        r.reference = description;
        r.prompt_token_ids = seqs[i].prompt_token_ids;
        r.output_token_ids = seqs[i].output_token_ids;
        r.metrics.assign(ms.begin(), ms.end());
        store.reference_put(r);
    };
    if (todo.empty()) return 0;
    ProgressBar bar(label, todo.size());
    if (ref.kind == ReferenceSpec::Kind::local) {
        std::vector<TokenSequence> batch;
        for (size_t i : todo) batch.push_back(seqs[i]);
        VerifyOptions v;
        v.sampling = o.sampling;
        v.noise = o.noise;
        v.interrupt_check = o.interrupt_check;
        verify_sequences(
            model, o.engine, batch, v, nullptr,
            [&](size_t done, size_t) {
                if (o.progress) bar.update(done);
            },
            [&](size_t b, std::span<const TokenMetrics> ms) { put(todo[b], ms); });
    } else {
        size_t done = 0;
        reference_remote_score_many(ref, seqs, todo, o.sampling, o.noise, model.n_vocab(), o.http,
                                    o.concurrency, [&](size_t i, std::span<const TokenMetrics> ms) {
                                        put(i, ms);
                                        if (o.progress) bar.update(++done);
                                        if (o.interrupt_check) o.interrupt_check();
                                    });
    }
    if (o.progress) bar.finish();
    return (int64_t)todo.size();
}

using SequenceRows = std::vector<std::vector<TokenMetrics>>;

// The stored reference rows of each sequence (filled by reference_rows_fill); none for a sequence without
// output.
SequenceRows stored_rows(RunStore &store, const std::vector<TokenSequence> &seqs,
                         const std::vector<std::string> &ref_keys) {
    SequenceRows rows(seqs.size());
    for (size_t i = 0; i < seqs.size(); ++i)
        if (!seqs[i].output_token_ids.empty()) rows[i] = store.reference_get(ref_keys[i])->metrics;
    return rows;
}

MetricsSummary rows_summary(const SequenceRows &rows) {
    SummaryAccumulator acc;
    for (const std::vector<TokenMetrics> &ms : rows) {
        for (const TokenMetrics &m : ms) acc.add(m);
        acc.end_sequence();
    }
    return acc.finish();
}

// The same tokens against a second reference: its rows (stored under its own description, so a re-run
// reuses them), its summary, and its agreement with the audit's reference (`ref_rows`) token by token.
CrossReferenceResult cross_reference_run(Model &model, const ReferenceSpec &cross,
                                         const std::vector<TokenSequence> &seqs, const SequenceRows &ref_rows,
                                         const std::vector<std::string> &response_keys,
                                         const std::string &sampling, const AuditOptions &o, RunStore &store,
                                         const std::string &label) {
    CrossReferenceResult x;
    x.reference = cross.describe(model);
    std::vector<std::string> cross_keys(seqs.size());
    for (size_t i = 0; i < seqs.size(); ++i)
        cross_keys[i] =
            reference_key(x.reference, sampling, seqs[i].prompt_token_ids, seqs[i].output_token_ids);
    x.references_new =
        reference_rows_fill(model, cross, x.reference, seqs, cross_keys, response_keys, o, store, label);
    x.references_reused = sequences_with_output(seqs) - x.references_new;
    const SequenceRows cross_rows = stored_rows(store, seqs, cross_keys);
    for (size_t i = 0; i < seqs.size(); ++i) reference_agreement_add(x.agreement, ref_rows[i], cross_rows[i]);
    x.summary = rows_summary(cross_rows);
    return x;
}

// The result's "reference" object: ReferenceSpec::to_json plus the store's id and, for the local engine,
// the model file and its sha256 (design.md section 3: a top-k reference says so and which k).
std::string reference_object(const ReferenceSpec &ref, const Model &model, const std::string &id) {
    json j = json::parse(ref.to_json());
    j["id"] = id;
    if (ref.kind == ReferenceSpec::Kind::local) {
        j["model"] = std::filesystem::path(model.path()).filename().string();
        j["model_sha256"] = id.substr(id.find(':') + 1);
    }
    return j.dump();
}

}  // namespace

AuditResult audit_provider(Model &model, const std::vector<std::vector<ChatMessage>> &convs,
                           const AuditTarget &t, const ReferenceSpec &ref, const AuditOptions &o,
                           RunStore &store) {
    sampling_validate(o.sampling);
    if (o.max_tokens < 1)
        throw InputError("max_tokens must be at least 1 (got " + std::to_string(o.max_tokens) + ")");
    AuditResult result;
    result.provider = t.name;
    result.model = t.endpoint.model;
    result.n_prompts = (int64_t)convs.size();
    result.reference = ref.describe(model);
    result.reference_json = reference_object(ref, model, result.reference);
    const std::string sampling = sampling_json(o);

    std::vector<std::string> keys;
    for (size_t i = 0; i < convs.size(); ++i)
        keys.push_back(request_key(t.name, t.endpoint.base_url, t.endpoint.model, (int64_t)i,
                                   messages_json(convs[i]), sampling, o.max_tokens));
    generate_missing(convs, keys, t, o, store, result);

    // Re-tokenise: the prompt with the model's chat template, the answer with its vocabulary, cut at
    // max_tokens as token-difr does (a re-tokenised text can be longer than what the provider generated).
    std::vector<TokenSequence> seqs(convs.size());
    std::vector<std::string> ref_keys(convs.size());
    std::set<std::string> answered;
    for (size_t i = 0; i < convs.size(); ++i) {
        const StoredResponse r = *store.response_get(keys[i]);
        if (!r.answered_by.empty()) answered.insert(r.answered_by);
        if (r.finish_reason == "length") ++result.n_truncated;
        ChatResponse cr;
        cr.content = r.content;
        cr.reasoning = r.reasoning;
        seqs[i].prompt_token_ids = model.chat_tokenize(verified_conversation(convs[i], o.assumed_system));
        const std::string text = chat_response_text(cr);
        seqs[i].output_token_ids = model.tokenize(text, /*add_special=*/false, /*parse_special=*/true);
        if ((int32_t)seqs[i].output_token_ids.size() > o.max_tokens)
            seqs[i].output_token_ids.resize(o.max_tokens);
        if (r.provider_token_ids) {
            std::vector<int32_t> ids = *r.provider_token_ids;
            // llama-server lists the end-of-generation token it stopped on; the text does not contain it.
            if (!ids.empty() && model.is_eog(ids.back())) ids.pop_back();
            const bool whole = (int32_t)ids.size() <= o.max_tokens;
            if (!whole) ids.resize(o.max_tokens);
            retokenization_count(ids, seqs[i].output_token_ids, result.retokenization);
            // The provider's own ids are verified when they spell exactly the text it returned: then they are
            // the tokens it generated, and no re-tokenisation guess stands between them and the reference.
            if (o.verify_provider_ids && whole && model.detokenize(ids) == text) {
                seqs[i].output_token_ids = ids;
                ++result.retokenization.sequences_verified_as_returned;
            }
        }
        ref_keys[i] =
            reference_key(result.reference, sampling, seqs[i].prompt_token_ids, seqs[i].output_token_ids);
    }
    for (const std::string &a : answered) result.answered_by += (result.answered_by.empty() ? "" : ",") + a;

    // Verify what the store has no reference row for, storing each sequence as it is finished.
    SequenceRows rows;
    AuditOptions chosen = o;  // the profile the summary is under (auto: the identified one)
    chosen.identify.clear();
    if (o.identify.empty() || sampling_is_greedy(o.sampling)) {
        result.references_new = reference_rows_fill(model, ref, result.reference, seqs, ref_keys, keys,
                                                    chosen, store, "verify " + t.name);
        rows = stored_rows(store, seqs, ref_keys);
    } else {
        // One reference pass per profile, each stored under its own sampling key.
        ProfileIdentifier identifier(o.identify);
        std::vector<SequenceRows> per_profile;
        for (size_t k = 0; k < o.identify.size(); ++k) {
            AuditOptions ok = chosen;
            ok.noise = o.identify[k];
            const std::string sk = sampling_json(ok);
            std::vector<std::string> keys_k(seqs.size());
            for (size_t i = 0; i < seqs.size(); ++i)
                keys_k[i] =
                    reference_key(result.reference, sk, seqs[i].prompt_token_ids, seqs[i].output_token_ids);
            result.references_new +=
                reference_rows_fill(model, ref, result.reference, seqs, keys_k, keys, ok, store,
                                    "verify " + t.name + " " + std::string(noise_profile_name(ok.noise)));
            per_profile.push_back(stored_rows(store, seqs, keys_k));
            for (const std::vector<TokenMetrics> &ms : per_profile.back())
                for (const TokenMetrics &m : ms) identifier.add(k, m);
        }
        result.identification = identifier.finish();
        chosen.noise = result.identification->best();
        const size_t best =
            size_t(std::find(o.identify.begin(), o.identify.end(), chosen.noise) - o.identify.begin());
        rows = std::move(per_profile[best]);
        result.references_new /= (int64_t)o.identify.size();  // sequences, not sequence-profile pairs
    }
    result.references_reused = sequences_with_output(seqs) - result.references_new;

    result.summary = rows_summary(rows);
    if (o.cross_reference)
        result.cross_reference =
            cross_reference_run(model, *o.cross_reference, seqs, rows, keys, sampling_json(chosen), chosen,
                                store, "cross-verify " + t.name);

    json cfg = {
        {"base_url", url_redact(t.endpoint.base_url)},
        {"pin_provider", t.pin_provider},
        {"max_tokens", o.max_tokens},
        {"sampling", json::parse(sampling)},
        {"reference", result.reference},
        {"verify_provider_ids", o.verify_provider_ids},
        {"assumed_system_prompt", o.assumed_system.empty() ? json(nullptr) : json(o.assumed_system)},
        {"engine", ref.kind == ReferenceSpec::Kind::local ? json::parse(o.engine.to_json()) : json(nullptr)},
        {"store", store.path()}};
    result.config_json = cfg.dump();
    return result;
}

std::string audit_result_to_json(const AuditResult &r) {
    const MetricsSummary &s = r.summary;
    auto num = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
    const RetokenizationStats &rt = r.retokenization;
    json j = {{"exact_match_rate", s.exact_match_rate},
              {"avg_prob", s.avg_prob},
              {"avg_margin", num(s.avg_margin)},
              {"avg_logit_rank", num(s.avg_logit_rank)},
              {"avg_gumbel_rank", num(s.avg_gumbel_rank)},
              {"infinite_margin_rate", s.infinite_margin_rate},
              {"total_tokens", s.total_tokens},
              {"n_sequences", s.n_sequences},
              {"provider", r.provider},
              {"model", r.model},
              {"answered_by", r.answered_by},
              {"reference", r.reference_json.empty() ? json(r.reference) : json::parse(r.reference_json)},
              {"n_prompts", r.n_prompts},
              {"skipped_sequences", s.skipped_sequences},
              {"n_truncated", r.n_truncated},
              {"avg_logprob", num(s.avg_logprob)},
              {"retokenization",
               {{"sequences_compared", rt.sequences_compared},
                {"sequences_changed", rt.sequences_changed},
                {"sequence_change_rate", rt.sequences_compared
                                             ? json((double)rt.sequences_changed / rt.sequences_compared)
                                             : json(nullptr)},
                {"tokens_compared", rt.tokens_compared},
                {"tokens_changed", rt.tokens_changed},
                {"sequences_verified_as_returned", rt.sequences_verified_as_returned}}},
              {"responses", {{"reused", r.responses_reused}, {"new", r.responses_new}}},
              {"reference_rows", {{"reused", r.references_reused}, {"new", r.references_new}}},
              {"config", json::parse(r.config_json)}};
    if (r.identification) j["noise_identification"] = json::parse(identification_to_json(*r.identification));
    if (r.cross_reference) {
        const CrossReferenceResult &x = *r.cross_reference;
        const ReferenceAgreement &a = x.agreement;
        j["cross_reference"] = {
            {"reference", x.reference},
            {"exact_match_rate", x.summary.exact_match_rate},
            {"total_tokens", x.summary.total_tokens},
            {"avg_logprob", num(x.summary.avg_logprob)},
            {"tokens_compared", a.tokens_compared},
            {"exact_match_agreement", num(reference_agreement_rate(a))},
            {"logprobs_compared", a.logprobs_compared},
            {"max_abs_logprob_diff", a.logprobs_compared ? json(a.max_abs_logprob_diff) : json(nullptr)},
            {"mean_abs_logprob_diff", num(reference_agreement_mean_logprob_diff(a))},
            {"reference_rows", {{"reused", x.references_reused}, {"new", x.references_new}}}};
    }
    return j.dump();
}

std::string cross_reference_line(const CrossReferenceResult &x) {
    const ReferenceAgreement &a = x.agreement;
    char line[768];
    int n = std::snprintf(
        line, sizeof line,
        "cross-reference %s: %.2f%% exact match of %lld tokens; agrees with the reference on "
        "%.2f%% of %lld tokens; ",
        x.reference.c_str(), 100.0 * x.summary.exact_match_rate, (long long)x.summary.total_tokens,
        100.0 * reference_agreement_rate(a), (long long)a.tokens_compared);
    if (n < 0 || n >= (int)sizeof line) return line;
    if (a.logprobs_compared > 0)
        std::snprintf(line + n, sizeof line - n, "|logprob diff| max %.3g, mean %.3g over %lld tokens",
                      a.max_abs_logprob_diff, reference_agreement_mean_logprob_diff(a),
                      (long long)a.logprobs_compared);
    else
        std::snprintf(line + n, sizeof line - n, "no token has a finite logprob from both");
    return line;
}

std::string audit_table(const std::vector<AuditResult> &results) {
    size_t w = 8;
    for (const auto &r : results) w = std::max(w, r.provider.size());
    std::string out;
    char line[512];
    std::snprintf(line, sizeof line, "%-*s  %8s  %8s  %10s  %8s  %7s  %9s  %s\n", (int)w, "provider", "match",
                  "avg_prob", "avg_margin", "inf_marg", "tokens", "sequences", "answered by");
    out += line;
    for (const auto &r : results) {
        const MetricsSummary &s = r.summary;
        std::snprintf(line, sizeof line, "%-*s  %7.2f%%  %8.4f  %10.4f  %7.2f%%  %7lld  %9lld  %s\n", (int)w,
                      r.provider.c_str(), 100.0 * s.exact_match_rate, s.avg_prob, s.avg_margin,
                      100.0 * s.infinite_margin_rate, (long long)s.total_tokens, (long long)s.n_sequences,
                      r.answered_by.empty() ? "-" : r.answered_by.c_str());
        out += line;
    }
    return out;
}

}  // namespace difr
