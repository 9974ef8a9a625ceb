// token_metrics: Token-DiFR for rows of logits a caller already has (vLLM's, torch's, JAX's), handed over as
// a NumPy array, any buffer or a DLPack tensor on the CPU. float32 rows are read in place; float16, bfloat16
// and float64 rows are converted one row at a time, so no J x V copy is ever made.
#include <nanobind/stl/string.h>

#include <bit>
#include <cmath>
#include <span>
#include <stdexcept>

#include "difr/error.h"
#include "difr/row_scorer.h"
#include "py_bindings.h"
#include "py_common.h"

namespace difr::py {

namespace {

enum class RowType { f32, f16, bf16, f64 };

// dlpack codes: 2 float, 4 bfloat.
std::optional<RowType> row_type(nb::dlpack::dtype t) {
    if (t.lanes != 1) return std::nullopt;
    if (t.code == (uint8_t)nb::dlpack::dtype_code::Float && t.bits == 32) return RowType::f32;
    if (t.code == (uint8_t)nb::dlpack::dtype_code::Float && t.bits == 16) return RowType::f16;
    if (t.code == (uint8_t)nb::dlpack::dtype_code::Bfloat && t.bits == 16) return RowType::bf16;
    if (t.code == (uint8_t)nb::dlpack::dtype_code::Float && t.bits == 64) return RowType::f64;
    return std::nullopt;
}

std::string dtype_name(nb::dlpack::dtype t) {
    static const char *codes[] = {"int", "uint", "float", "opaque", "bfloat", "complex", "bool"};
    const std::string code = t.code < 7 ? codes[t.code] : "code" + std::to_string(t.code);
    return code + std::to_string(t.bits) + (t.lanes != 1 ? "x" + std::to_string(t.lanes) : "");
}

// Row j as floats: the row itself when it is contiguous float32, else converted into `buf`.
std::span<const float> row_floats(const uint8_t *row, RowType type, int64_t col_stride, size_t n,
                                  std::vector<float> &buf) {
    if (type == RowType::f32 && col_stride == 1) return {reinterpret_cast<const float *>(row), n};
    buf.resize(n);
    switch (type) {
        case RowType::f32:
            for (size_t i = 0; i < n; ++i) buf[i] = reinterpret_cast<const float *>(row)[i * col_stride];
            break;
        case RowType::f16:
            for (size_t i = 0; i < n; ++i)
                buf[i] =
                    (float)std::bit_cast<_Float16>(reinterpret_cast<const uint16_t *>(row)[i * col_stride]);
            break;
        case RowType::bf16:  // the upper half of a float32
            for (size_t i = 0; i < n; ++i)
                buf[i] = std::bit_cast<float>(
                    uint32_t(reinterpret_cast<const uint16_t *>(row)[i * col_stride]) << 16);
            break;
        case RowType::f64:
            for (size_t i = 0; i < n; ++i)
                buf[i] = (float)reinterpret_cast<const double *>(row)[i * col_stride];
            break;
    }
    return buf;
}

// The first NaN of a row, or -1. One branch-free pass first: rows are almost always clean.
int64_t first_nan(std::span<const float> row) {
    bool any = false;
    for (const float x : row) any |= std::isnan(x);
    if (!any) return -1;
    for (size_t i = 0; i < row.size(); ++i)
        if (std::isnan(row[i])) return (int64_t)i;
    return -1;
}

struct Columns {
    std::vector<uint8_t> exact_match;
    std::vector<int32_t> predicted;
    std::vector<float> prob, margin, logit_rank, gumbel_rank, logprob;
};

using IdArray = nb::ndarray<const int64_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

nb::tuple token_metrics(nb::handle logits_obj, IdArray claimed, IdArray positions, float temperature,
                        int32_t top_k, float top_p, uint64_t seed, float min_p, const std::string &noise) {
    nb::ndarray<nb::ro> logits;
    if (!nb::try_cast(logits_obj, logits, /*convert=*/false))
        throw nb::type_error(
            ("logits: expected a NumPy array, a buffer or a DLPack tensor of shape [J, V], got " +
             std::string(nb::type_name(logits_obj.type()).c_str()))
                .c_str());
    if (logits.device_type() != nb::device::cpu::value)
        throw InputError("logits are on device type " + std::to_string(logits.device_type()) +
                         " (DLPack code); token_metrics reads CPU memory: move them first (tensor.cpu())");
    if (logits.ndim() != 2)
        throw InputError("logits must have shape [J, V] (one row of V logits per claimed token), got " +
                         std::to_string(logits.ndim()) + " dimensions");
    const std::optional<RowType> type = row_type(logits.dtype());
    if (!type)
        throw nb::type_error(("logits: dtype " + dtype_name(logits.dtype()) +
                              " is not supported; use float32 (read in place), float16, bfloat16 or float64")
                                 .c_str());
    const size_t J = logits.shape(0), V = logits.shape(1);
    if (V == 0) throw InputError("logits have no columns: V must be at least 1");
    if (V > (size_t)INT32_MAX)
        throw InputError("logits have " + std::to_string(V) + " columns, more than any vocabulary");
    if (claimed.shape(0) != J)
        throw InputError("claimed has " + std::to_string(claimed.shape(0)) + " token ids for " +
                         std::to_string(J) + " rows of logits");
    if (positions.shape(0) != J)
        throw InputError("positions has " + std::to_string(positions.shape(0)) + " entries for " +
                         std::to_string(J) + " rows of logits");
    const std::optional<NoiseProfile> profile = noise_profile_from_name(noise);
    if (!profile) throw InputError("unknown noise profile '" + noise + "'");
    SamplingParams params;
    params.temperature = temperature;
    params.top_k = top_k;
    params.top_p = top_p;
    params.seed = seed;
    params.min_p = min_p;

    const auto *base = static_cast<const uint8_t *>(logits.data());
    const size_t item = logits.itemsize();
    const int64_t row_stride = logits.stride(0), col_stride = logits.stride(1);
    const int64_t *ids = claimed.data();
    const int64_t *pos = positions.data();
    for (size_t j = 0; j < J; ++j)
        if (ids[j] < 0 || ids[j] >= (int64_t)V)
            throw InputError("row " + std::to_string(j) + ": claimed token id " + std::to_string(ids[j]) +
                             " is outside the vocabulary [0, " + std::to_string(V) + ") of the logits");

    Columns c = run_interruptible<Columns>([&](const InterruptCheck &check) {
        RowScorer scorer(params, *profile, (int32_t)V);
        RowScorer::Sequence seq;
        std::vector<float> buf;
        Columns out;
        out.exact_match.resize(J);
        out.predicted.resize(J);
        for (auto *v : {&out.prob, &out.margin, &out.logit_rank, &out.gumbel_rank, &out.logprob})
            v->resize(J);
        for (size_t j = 0; j < J; ++j) {
            check();
            const std::span<const float> row =
                row_floats(base + (int64_t)j * row_stride * (int64_t)item, *type, col_stride, V, buf);
            if (const int64_t bad = first_nan(row); bad >= 0)
                throw InputError("row " + std::to_string(j) + ", column " + std::to_string(bad) +
                                 ": the logit is NaN");
            TokenMetrics m;
            try {
                m = scorer.score(seq, row, (int32_t)ids[j], pos[j]);
            } catch (
                const std::logic_error &e) {  // invalid_argument included: a parameter or the noise order
                throw InputError("row " + std::to_string(j) + " (position " + std::to_string(pos[j]) +
                                 "): " + e.what());
            }
            out.exact_match[j] = m.exact_match;
            out.predicted[j] = m.predicted;
            out.prob[j] = m.prob;
            out.margin[j] = m.margin;
            out.logit_rank[j] = m.logit_rank;
            out.gumbel_rank[j] = m.gumbel_rank;
            out.logprob[j] = m.logprob;
        }
        return out;
    });
    return nb::make_tuple(numpy_bools(std::move(c.exact_match)), numpy_from(std::move(c.predicted)),
                          numpy_from(std::move(c.prob)), numpy_from(std::move(c.margin)),
                          numpy_from(std::move(c.logit_rank)), numpy_from(std::move(c.gumbel_rank)),
                          numpy_from(std::move(c.logprob)));
}

}  // namespace

void register_metrics(nb::module_ &m) {
    m.def("token_metrics", &token_metrics, nb::arg("logits"), nb::arg("claimed"), nb::arg("positions"),
          nb::arg("temperature"), nb::arg("top_k"), nb::arg("top_p"), nb::arg("seed"), nb::arg("min_p"),
          nb::arg("noise"),
          "Token-DiFR metrics of rows of logits [J, V]; returns (exact_match, predicted, prob, margin, "
          "logit_rank, gumbel_rank, logprob) arrays");
}

}  // namespace difr::py
