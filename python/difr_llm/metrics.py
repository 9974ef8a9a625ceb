"""Token-DiFR metrics of logits you already have (vLLM's, torch's, JAX's), computed by difr's core."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from . import _difr
from .common import TokenMetrics

__all__ = ["TokenMetricsArrays", "token_metrics", "noise_profiles"]


def noise_profiles() -> dict[str, str]:
    """The noise profiles this build of difr knows, by name, with the samplers they reproduce."""
    return dict(_difr.noise_profiles())


class TokenMetricsArrays(NamedTuple):
    """One entry per row of logits (per claimed token), as NumPy arrays."""

    exact_match: np.ndarray  # bool
    predicted: np.ndarray  # int32: the reference's own choice
    prob: np.ndarray  # float32
    margin: np.ndarray  # float32, +inf where the filter removed the claimed token
    logit_rank: np.ndarray  # float32
    gumbel_rank: np.ndarray  # float32, +inf where filtered out
    logprob: np.ndarray  # float32: log_softmax of the raw row at the claimed token

    def to_token_metrics(self) -> list[TokenMetrics]:
        """The same numbers as token-difr's per-token objects."""
        return list(
            map(
                TokenMetrics,
                self.exact_match.tolist(),
                self.prob.tolist(),
                self.margin.tolist(),
                self.logit_rank.tolist(),
                self.gumbel_rank.tolist(),
                self.predicted.tolist(),
                self.logprob.tolist(),
            )
        )


def _ids(name: str, value: Any, n: int | None = None) -> np.ndarray:
    a = np.asarray(value)
    if a.ndim != 1:
        raise ValueError(f"{name}: expected one id per row of logits (a 1-D array), got shape {a.shape}")
    if a.size and a.dtype.kind not in "iu":
        raise TypeError(f"{name}: expected integer token ids, got dtype {a.dtype}")
    if n is not None and a.shape[0] != n:
        raise ValueError(f"{name} has {a.shape[0]} entries for {n} rows of logits")
    return np.ascontiguousarray(a, dtype=np.int64)


def token_metrics(
    logits: Any,
    claimed: Any,
    *,
    temperature: float,
    top_k: int,
    top_p: float,
    seed: int,
    positions: Any = None,
    noise: str = "vllm",
    min_p: float = 0.0,
) -> TokenMetricsArrays:
    """Token-DiFR metrics of the claimed tokens of one sequence, from the reference's raw logits.

    logits: [J, V], row j the raw logits that predict claimed[j]; a NumPy array, any object with the buffer
        protocol, or a DLPack tensor (torch, JAX, CuPy...) in CPU memory. float32 is read in place, without a
        copy; float16, bfloat16 (DLPack) and float64 are converted one row at a time.
    claimed: [J] token ids the provider returned.
    temperature, top_k, top_p, seed: the sampling settings claimed for the generation (top_k <= 0 and
        top_p >= 1 are off; T = 0 is greedy).
    positions: the absolute position of each row's token, which keys the vllm profiles' noise: for output
        token j of a sequence with a P-token prompt it is P - 1 + j. An int is the first row's position
        (rows follow one by one); None means 0, 1, ..., J - 1.
    noise: the noise profile (docs/semantics.md; noise_profiles() lists them): "vllm" (vLLM 0.31+),
        "vllm-0.30", "sglang", "torch-cpu" (token-difr on the CPU; rows must be consecutive positions),
        "llama.cpp", ...
    min_p: llama.cpp's min-p (the llama.cpp profile only).

    Bad input raises ValueError (InputError) or TypeError naming the row: a wrong shape or dtype, a claimed
    id outside [0, V), a NaN logit. The GIL is released while the rows are scored; Ctrl-C stops it.
    """
    ids = _ids("claimed", claimed)
    n = ids.shape[0]
    if positions is None:
        pos = np.arange(n, dtype=np.int64)
    elif np.ndim(positions) == 0:
        start = int(positions)
        pos = np.arange(start, start + n, dtype=np.int64)
    else:
        pos = _ids("positions", positions, n)
    return TokenMetricsArrays(
        *_difr.token_metrics(logits, ids, pos, float(temperature), int(top_k), float(top_p), int(seed),
                             float(min_p), noise)
    )
