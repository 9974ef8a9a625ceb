#include "difr/generator.h"

#include <llama.h>

#include <algorithm>
#include <deque>
#include <stdexcept>
#include <string>

#include "difr/error.h"
#include "difr/inverse_cdf.h"
#include "difr/llamacpp_sampler.h"
#include "difr/metrics.h"
#include "difr/scorer.h"
#include "engine_internal.h"

namespace difr {

namespace {

struct GenSlot {
    size_t seq = 0;
    int32_t fed = 0;  // tokens of this sequence already in the cache
    bool busy = false;
    std::unique_ptr<NoiseStream> noise;  // Gumbel profiles, T > 0
    std::unique_ptr<LlamaCppRng> draws;  // the llama.cpp profile, T > 0: one draw per sampled token
    uint64_t bug_state = 0;              // SamplingBug's RNG (splitmix64), per sequence
};

uint64_t splitmix64_next(uint64_t &state) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// SamplingBug: with probability bug.rate, a token drawn uniformly among the bug.top largest logits (ties to
// the lower id) other than `sampled`. The RNG draws twice per token whether or not the bug fires, so which
// tokens are hit depends only on the seed, the sequence and the position.
int32_t sampling_bug_apply(std::span<const float> row, int32_t sampled, const SamplingBug &bug,
                           uint64_t &state, std::vector<int32_t> &order) {
    const double u = double(splitmix64_next(state) >> 11) * 0x1.0p-53;
    const uint64_t pick = splitmix64_next(state);
    if (!(u < bug.rate)) return sampled;
    const int32_t top = std::clamp<int32_t>(bug.top, 1, (int32_t)row.size());
    order.resize(row.size());
    for (size_t i = 0; i < row.size(); ++i) order[i] = (int32_t)i;
    std::partial_sort(order.begin(), order.begin() + top, order.end(),
                      [&](int32_t a, int32_t b) { return row[a] > row[b] || (row[a] == row[b] && a < b); });
    order.resize(top);
    order.erase(std::remove(order.begin(), order.end(), sampled), order.end());
    if (order.empty()) return sampled;
    return order[pick % order.size()];
}

}  // namespace

std::vector<TokenSequence> generate(const Model &model, const EngineSettings &settings,
                                    const std::vector<std::vector<int32_t>> &prompts,
                                    const GenerateOptions &options, GenerateStats *stats,
                                    const std::function<void(size_t, const TokenSequence &)> &on_done) {
    sampling_validate(options.sampling);
    if (options.max_tokens < 1) throw InputError("max_tokens must be at least 1");
    if (options.sampling.min_p > 0.0f && options.noise != NoiseProfile::llama_cpp)
        throw std::invalid_argument("min_p is only defined for the llama.cpp profile (--noise llama.cpp)");
    const int32_t n_vocab = model.n_vocab();
    const int32_t limit = settings.n_ctx > 0 ? settings.n_ctx : model.n_ctx_train();
    int32_t longest = 1;
    for (size_t i = 0; i < prompts.size(); ++i) {
        if (prompts[i].empty()) throw InputError("prompt " + std::to_string(i) + " is empty");
        sequence_check(TokenSequence{prompts[i], {}}, i, n_vocab, limit);
        const int32_t need = (int32_t)prompts[i].size() + options.max_tokens;
        if (need - 1 > limit)
            throw InputError("prompt " + std::to_string(i) + ": " + std::to_string(prompts[i].size()) +
                             " prompt tokens + max_tokens " + std::to_string(options.max_tokens) +
                             " exceed the context of " + std::to_string(limit) + " tokens");
        longest = std::max(longest, need);
    }
    std::vector<TokenSequence> out(prompts.size());
    for (size_t i = 0; i < prompts.size(); ++i) out[i].prompt_token_ids = prompts[i];
    if (prompts.empty()) return out;

    EngineSettings s = settings;
    s.n_batch = std::max(s.n_batch, 1);
    const int32_t n_slots = std::clamp<int32_t>(std::min(s.n_seq_max, s.n_batch), 1, (int32_t)prompts.size());
    const int32_t n_ctx = ((n_slots * longest + 255) / 256) * 256;
    llama_context *ctx = engine_context_make(model, s, n_ctx, n_slots, bool(options.on_hidden));
    const size_t n_embd = (size_t)model.n_embd();
    llama_memory_t mem = llama_get_memory(ctx);
    llama_batch batch = llama_batch_init(s.n_batch, 0, 1);
    std::vector<GenSlot> slots(n_slots);
    std::deque<size_t> pending;
    for (size_t i = 0; i < prompts.size(); ++i) pending.push_back(i);
    std::vector<int32_t> batch_slot;  // slot of each batch entry that carries logits, else -1
    MetricsScratch scratch;
    std::vector<int32_t> bug_order;
    GenerateStats st;
    const bool greedy = sampling_is_greedy(options.sampling);
    const bool inverse_cdf = !greedy && options.noise == NoiseProfile::llama_cpp;
    std::unique_ptr<LlamaCppSampler> chain;  // stateless samplers only, so one chain serves every slot
    if (inverse_cdf) chain = std::make_unique<LlamaCppSampler>(options.sampling);
    std::vector<int32_t> chain_ids;
    std::vector<float> chain_x;

    auto finish = [&](int32_t s_idx) {
        GenSlot &slot = slots[s_idx];
        llama_memory_seq_rm(mem, s_idx, -1, -1);
        slot.busy = false;
        slot.noise.reset();
        slot.draws.reset();
        if (on_done) on_done(slot.seq, out[slot.seq]);
    };

    try {
        for (;;) {
            for (int32_t k = 0; k < n_slots; ++k) {
                if (slots[k].busy || pending.empty()) continue;
                slots[k].seq = pending.front();
                slots[k].fed = 0;
                slots[k].busy = true;
                if (inverse_cdf)
                    slots[k].draws = std::make_unique<LlamaCppRng>((uint32_t)options.sampling.seed);
                else if (!greedy)
                    slots[k].noise = noise_stream_make(options.noise, options.sampling.seed, n_vocab);
                slots[k].bug_state = options.bug.seed ^ (0xD1B54A32D192ED03ull * (slots[k].seq + 1));
                pending.pop_front();
            }
            batch.n_tokens = 0;
            batch_slot.clear();
            for (int32_t k = 0; k < n_slots && batch.n_tokens < s.n_batch; ++k) {
                GenSlot &slot = slots[k];
                if (!slot.busy) continue;
                const std::vector<int32_t> &prompt = out[slot.seq].prompt_token_ids;
                const std::vector<int32_t> &gen = out[slot.seq].output_token_ids;
                const int32_t P = (int32_t)prompt.size();
                const int32_t total = P + (int32_t)gen.size();  // tokens known so far
                const int32_t take = std::min(total - slot.fed, s.n_batch - batch.n_tokens);
                for (int32_t pos = slot.fed; pos < slot.fed + take; ++pos) {
                    engine_batch_add(batch, pos < P ? prompt[pos] : gen[pos - P], pos, k, pos == total - 1);
                    batch_slot.push_back(pos == total - 1 ? k : -1);
                }
                slot.fed += take;
            }
            if (batch.n_tokens == 0) break;
            const int32_t rc = llama_decode(ctx, batch);
            if (rc != 0) throw std::runtime_error("llama_decode failed with status " + std::to_string(rc));
            ++st.decode_calls;

            for (int32_t b = 0; b < batch.n_tokens; ++b) {
                if (batch_slot[b] < 0) continue;
                GenSlot &slot = slots[batch_slot[b]];
                std::vector<int32_t> &gen = out[slot.seq].output_token_ids;
                const std::span<const float> row(llama_get_logits_ith(ctx, b), (size_t)n_vocab);
                if (options.on_hidden) {
                    const float *h = llama_get_embeddings_ith(ctx, b);
                    if (!h) throw std::runtime_error("llama.cpp returned no hidden state for a sampled row");
                    options.on_hidden(slot.seq, (int32_t)gen.size(), std::span<const float>(h, n_embd));
                }
                int32_t token;
                if (options.sampler) {
                    token = options.sampler(slot.seq, (int32_t)gen.size(), row);
                } else if (inverse_cdf) {
                    chain->filter(row, chain_ids, chain_x);
                    token = chain_ids[inverse_cdf_select(chain_x, slot.draws->next())];
                } else {
                    // the position whose logits are sampled, as vLLM keys its noise
                    if (slot.noise) slot.noise->seek(batch.pos[b]);
                    token = sampling_sample(row, options.sampling, slot.noise.get(), scratch);
                }
                if (options.bug.rate > 0.0)
                    token = sampling_bug_apply(row, token, options.bug, slot.bug_state, bug_order);
                if (options.on_row) options.on_row(slot.seq, (int32_t)gen.size(), row, token);
                gen.push_back(token);
                ++st.generated_tokens;
                if ((options.stop_at_eog && model.is_eog(token)) || (int32_t)gen.size() >= options.max_tokens)
                    finish(batch_slot[b]);
            }
        }
    } catch (...) {
        llama_batch_free(batch);
        llama_free(ctx);
        throw;
    }
    llama_batch_free(batch);
    llama_free(ctx);
    for (const auto &p : prompts) st.prompt_tokens += (int64_t)p.size();
    if (stats) *stats = st;
    return out;
}

}  // namespace difr
