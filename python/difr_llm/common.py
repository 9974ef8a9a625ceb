"""token-difr's data types and summary, on difr's native core.

Names, fields and defaults are token-difr 0.1.2's (``token_difr.common``); ``TokenMetrics`` adds difr's
``predicted`` and ``logprob`` after token-difr's five fields, so positional construction and ``to_dict`` keys
of token-difr code keep working.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any, Iterable, Sequence

from .prompts import construct_prompts, encode_thinking_response

__all__ = [
    "SamplingMethod",
    "TokenSequence",
    "TokenMetrics",
    "compute_metrics_summary",
    "construct_prompts",
    "encode_thinking_response",
]


class SamplingMethod(Enum):
    """The sampler whose choices are verified (token-difr's enum).

    ``VLLM_GUMBEL_MAX`` is vLLM's Gumbel-max sampler; which generation of it (the noise profile) is chosen
    with ``noise=`` (noise_profiles() lists them; "llama.cpp" for llama.cpp's own sampler).
    ``TINKER_GUMBEL_MAX`` is not implemented, as in token-difr.
    """

    VLLM_GUMBEL_MAX = "vllm_gumbel_max"
    TINKER_GUMBEL_MAX = "tinker_gumbel_max"


@dataclass
class TokenSequence:
    """A prompt and its generated output as token IDs."""

    prompt_token_ids: list[int]
    output_token_ids: list[int]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TokenSequence":
        return cls(prompt_token_ids=d["prompt_token_ids"], output_token_ids=d["output_token_ids"])


@dataclass
class TokenMetrics:
    """Verification metrics of one claimed token (docs/semantics.md).

    exact_match: the claimed token is the reference's own choice under the same sampling and noise.
    prob: its probability after temperature, top-k and top-p (1 or 0 at T = 0).
    margin: the Token-DiFR score, max(l + T*G) - (l_y + T*G_y); +inf when the filter removed it.
    logit_rank: how many tokens have a larger raw logit.
    gumbel_rank: how many surviving tokens have a larger noised score; +inf when filtered out.
    predicted: the reference's own choice (difr; -1 when unknown).
    logprob: log_softmax of the raw logits at the claimed token (difr; NaN when unknown).
    """

    exact_match: bool
    prob: float
    margin: float
    logit_rank: float
    gumbel_rank: float
    predicted: int = -1
    logprob: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TokenMetrics":
        """Reads token-difr's five keys, and difr's two more when present (a tokens.jsonl line works)."""
        return cls(
            exact_match=bool(d["exact_match"]),
            prob=float(d["prob"]),
            margin=_float(d["margin"]),
            logit_rank=_float(d["logit_rank"]),
            gumbel_rank=_float(d["gumbel_rank"]),
            predicted=int(d.get("predicted", -1)),
            logprob=_float(d.get("logprob", math.nan), -math.inf),
        )


def _float(v: Any, null: float = math.inf) -> float:
    # JSON has no infinity: difr's files write infinite margins and ranks (+inf) and logprobs (-inf) as null.
    return null if v is None else float(v)


def compute_metrics_summary(results: Iterable[Sequence[TokenMetrics]], verbose: bool = False) -> dict[str, Any]:
    """Aggregate statistics with token-difr's keys and meaning.

    Keys, in token-difr's order: total_tokens, exact_match_rate, avg_prob, avg_margin (over the finite margins
    only; inf when none is finite), infinite_margin_rate, avg_logit_rank, avg_gumbel_rank; all 0 when there
    are no tokens. Sums are taken token by token in double precision, as difr's SummaryAccumulator takes them,
    so the values equal those of ``difr verify``'s summary.json for the same metrics.
    """
    n = matches = finite = 0
    sums = {"prob": 0.0, "margin": 0.0, "logit_rank": 0.0, "gumbel_rank": 0.0}
    for metrics in results:
        for m in metrics:
            n += 1
            matches += bool(m.exact_match)
            sums["prob"] += m.prob
            if math.isfinite(m.margin):
                finite += 1
                sums["margin"] += m.margin
            sums["logit_rank"] += m.logit_rank
            sums["gumbel_rank"] += m.gumbel_rank
    summary: dict[str, Any] = {"total_tokens": n}
    if n == 0:
        summary.update(dict.fromkeys(_SUMMARY_RATES, 0.0))
    else:
        summary["exact_match_rate"] = matches / n
        summary["avg_prob"] = sums["prob"] / n
        summary["avg_margin"] = sums["margin"] / finite if finite else math.inf
        summary["infinite_margin_rate"] = (n - finite) / n
        summary["avg_logit_rank"] = sums["logit_rank"] / n
        summary["avg_gumbel_rank"] = sums["gumbel_rank"] / n
    if verbose:
        print(summary_text(summary))
    return summary


_SUMMARY_RATES = (
    "exact_match_rate",
    "avg_prob",
    "avg_margin",
    "infinite_margin_rate",
    "avg_logit_rank",
    "avg_gumbel_rank",
)


def summary_text(summary: dict[str, Any]) -> str:
    """A few lines for a person: match rate, probability, margin."""
    return (
        f"Verification summary: {summary['total_tokens']} tokens\n"
        f"  exact match rate {summary['exact_match_rate']:.2%}\n"
        f"  average probability {summary['avg_prob']:.4f}\n"
        f"  average margin {summary['avg_margin']:.4f} ({summary['infinite_margin_rate']:.2%} infinite)"
    )
