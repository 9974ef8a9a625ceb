// difr's kernels inside llama.cpp's graph. llama.cpp builds and schedules the model's graph as always; just
// before a graph runs, its scheduler offers every node to the context's evaluation callback (the `cb_eval`
// context parameter, ggml_backend_sched_eval_callback). difr uses that moment to turn each matrix product
// that quant_gemm covers into a ggml custom op running quant_gemm. The node keeps its inputs, shape and
// output buffer, and quant_gemm computes the very bits of ggml's vec_dot, so logits are unchanged: only the
// time goes down. Nothing in llama.cpp's source is patched.
#include <ggml-backend.h>
#include <ggml-cpu.h>
#include <ggml.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <vector>

#include "engine_internal.h"
#include "quant_gemm.h"

namespace difr {

namespace {

std::atomic<int64_t> nodes_computed{0};

// Runs on each of ggml's threads (ith of nth) for one product node: dst = src0 (weights) x src1
// (activations). Each thread quantises every activation row itself (custom ops have no barrier to share the
// work; it is about 1% of a product) and computes its own share of the weight rows, in blocks of 16.
void gemm_node_compute(ggml_tensor *dst, int ith, int nth, void *) {
    const ggml_tensor *w = dst->src[0];
    const ggml_tensor *x = dst->src[1];
    const int64_t k = w->ne[0], n_w = w->ne[1], n_t = x->ne[1];
    const ggml_type act_type = ggml_get_type_traits_cpu(w->type)->vec_dot_type;
    const ggml_from_float_t quantize = ggml_get_type_traits_cpu(act_type)->from_float;
    const size_t act_row = ggml_row_size(act_type, k);
    thread_local std::vector<uint8_t> act;
    act.resize(act_row * (size_t)n_t);
    for (int64_t t = 0; t < n_t; ++t)
        quantize(reinterpret_cast<const float *>(static_cast<const char *>(x->data) + t * x->nb[1]),
                 act.data() + t * act_row, k);
    const int64_t blocks = (n_w + 15) / 16;
    const int64_t r0 = std::min(n_w, 16 * (blocks * ith / nth));
    const int64_t r1 = std::min(n_w, 16 * (blocks * (ith + 1) / nth));
    const QuantGemm g{w->type,    k,       static_cast<const uint8_t *>(w->data), w->nb[1],
                      act.data(), act_row, static_cast<float *>(dst->data),       dst->nb[1] / sizeof(float)};
    quant_gemm_run(g, r0, r1, 0, n_t);
    if (ith == 0) nodes_computed.fetch_add(1, std::memory_order_relaxed);
}

// The op parameters of a custom node that runs gemm_node_compute on every thread, in ggml's layout; made by
// ggml's own ggml_custom_4d, so that difr does not depend on that layout.
const void *gemm_op_params() {
    static int32_t params[GGML_MAX_OP_PARAMS / sizeof(int32_t)];
    static std::once_flag once;
    std::call_once(once, [] {
        const ggml_init_params ip{ggml_tensor_overhead() * 2, nullptr, true};
        ggml_context *ctx = ggml_init(ip);
        const ggml_tensor *proto = ggml_custom_4d(ctx, GGML_TYPE_F32, 1, 1, 1, 1, nullptr, 0,
                                                  gemm_node_compute, GGML_N_TASKS_MAX, nullptr);
        std::memcpy(params, proto->op_params, sizeof params);
        ggml_free(ctx);
    });
    return params;
}

bool all_zero(const int32_t *p, size_t n) {
    for (size_t i = 0; i < n; ++i)
        if (p[i] != 0) return false;
    return true;
}

// A plain 2-D product of host-resident, unrepacked weights of a covered type by f32 rows: what quant_gemm
// computes. Anything else (attention's products, repacked or offloaded weights, broadcast batches, ops
// carrying hints) stays ggml's.
bool gemm_node_accepts(const ggml_tensor *t) {
    const ggml_tensor *w = t->src[0];
    const ggml_tensor *x = t->src[1];
    return w && x && !t->src[2] && quant_gemm_supports(w->type) && !w->extra && w->buffer &&
           ggml_backend_buffer_is_host(w->buffer) && x->type == GGML_TYPE_F32 && t->type == GGML_TYPE_F32 &&
           w->ne[2] == 1 && w->ne[3] == 1 && x->ne[2] == 1 && x->ne[3] == 1 && x->ne[0] == w->ne[0] &&
           t->ne[0] == w->ne[1] && t->ne[1] == x->ne[1] && w->ne[0] % 32 == 0 &&
           w->nb[0] == ggml_type_size(w->type) && x->nb[0] == sizeof(float) && t->nb[0] == sizeof(float) &&
           t->nb[1] % sizeof(float) == 0 && all_zero(t->op_params, GGML_MAX_OP_PARAMS / sizeof(int32_t));
}

}  // namespace

int64_t quant_gemm_nodes_computed() {
    return nodes_computed.load(std::memory_order_relaxed);
}

bool engine_graph_rewrite(ggml_tensor *t, bool ask, void *) {
    if (!ask) return true;  // never reached: no node is asked for
    if (t->op == GGML_OP_MUL_MAT && gemm_node_accepts(t)) {
        t->op = GGML_OP_CUSTOM;
        std::memcpy(t->op_params, gemm_op_params(), sizeof t->op_params);
    }
    return false;
}

}  // namespace difr
