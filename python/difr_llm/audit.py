"""Provider audits: token-difr's audit_provider on difr's audit pipeline.

Generation goes through OpenRouter with the provider pinned (or any OpenAI-compatible endpoint), answers are
re-tokenised with the model's own GGUF vocabulary and chat template, and the tokens are verified against a
reference: Fireworks by default, as in token-difr, or difr's local engine, or any prompt-logprob server.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, ClassVar, Sequence

from . import _difr
from .model_registry import FIREWORKS_MODEL_REGISTRY, GGUF_MODEL_REGISTRY, get_openrouter_name
from .models import Model, load_model

__all__ = ["AuditResult", "audit_provider"]

FIREWORKS_URL = "https://api.fireworks.ai/inference/v1"
OPENROUTER_URL = "https://openrouter.ai/api/v1"


@dataclass
class AuditResult:
    """An audit's summary, token-difr's eight fields and its repr. ``details`` holds everything else difr records
    (the provider that answered, the reference, re-tokenisation counts, the run store...)."""

    exact_match_rate: float
    avg_prob: float
    avg_margin: float
    avg_logit_rank: float
    avg_gumbel_rank: float
    infinite_margin_rate: float
    total_tokens: int
    n_sequences: int
    # Not a dataclass field (a ClassVar to dataclasses), so asdict() and the constructor stay token-difr's;
    # audit_provider sets it on each result.
    details: ClassVar[dict[str, Any]] = {}

    def __repr__(self) -> str:
        return (
            f"AuditResult({self.exact_match_rate:.1%} match rate, "
            f"{self.total_tokens} tokens across {self.n_sequences} sequences)"
        )


def _number(v: Any) -> float:
    return math.inf if v is None else float(v)


def audit_provider(
    conversations: Sequence[list[dict[str, str]]],
    model: str,
    provider: str | None = None,
    temperature: float = 0.0,
    max_tokens: int = 100,
    seed: int = 42,
    top_k: int = 50,
    top_p: float = 0.95,
    concurrency: int = 20,
    *,
    reference: str = "fireworks",
    topk_logprobs: int = 5,
    gguf: str | os.PathLike[str] | Model | None = None,
    openrouter_url: str = OPENROUTER_URL,
    api_key: str | None = None,
    reference_api_key: str | None = None,
    noise: str = "vllm",
    store: str | os.PathLike[str] | None = None,
    send_seed: bool = True,
    logprobs: bool = False,
    provider_ids: bool = False,
    assume_system: str | None = None,
    verbose: bool = True,
    timeout: float = 120.0,
    max_attempts: int = 5,
) -> AuditResult:
    """Audits a provider: generate, re-tokenise, verify, summarise (``difr audit`` for one provider).

    conversations: lists of {"role", "content"} messages (construct_prompts makes them).
    model: the HuggingFace name (token-difr's), which names the model to OpenRouter (get_openrouter_name),
        to Fireworks (FIREWORKS_MODEL_REGISTRY) and to difr's cache (GGUF_MODEL_REGISTRY, or ``gguf=``).
    provider: an OpenRouter provider, pinned with fallbacks off ("together", "deepinfra/fp8"); None lets
        OpenRouter choose; "NAME=URL" audits any OpenAI-compatible endpoint directly (vLLM, llama-server),
        which is sent the HF name.
    reference: "fireworks" (token-difr's default: Fireworks echo logprobs, FIREWORKS_API_KEY, k =
        ``topk_logprobs``), "local" (difr's engine with the GGUF: no key, no GPU), or "fireworks=URL" /
        "vllm=URL" for any prompt-logprob server (difr serve, vLLM).
    temperature, seed, top_k, top_p: generation uses temperature and seed; verification uses all four with
        the ``noise`` profile (token-difr's Fireworks path is greedy whatever they are).
    store: a run store (SQLite) to resume from and add to, as ``difr audit --store``; by default none is
        kept.
    api_key: the provider's key (default: $OPENROUTER_API_KEY for OpenRouter, none for NAME=URL).

    Returns token-difr's AuditResult; n_sequences counts every conversation, answered empty or not, as
    token-difr's does. Ctrl-C stops the audit; with a ``store`` a second call continues where it stopped.
    """
    if "=" in (provider or ""):
        name, base_url = provider.split("=", 1)  # type: ignore[union-attr]
        target_model, pin = model, ""
        key_env = ""
    else:
        name = provider or "openrouter"
        base_url, target_model, pin = openrouter_url, get_openrouter_name(model), provider or ""
        key_env = "" if api_key else "OPENROUTER_API_KEY"
        if not api_key and not os.environ.get(key_env):
            raise ValueError("OPENROUTER_API_KEY environment variable not set")

    reference_model, reference_key_env = model, ""
    if reference == "fireworks" or reference.startswith("fireworks="):
        if reference == "fireworks":
            reference = f"fireworks={FIREWORKS_URL}"
            if not reference_api_key and not os.environ.get("FIREWORKS_API_KEY"):
                raise ValueError("FIREWORKS_API_KEY environment variable not set")
        if model not in FIREWORKS_MODEL_REGISTRY and "api.fireworks.ai" in reference:
            raise ValueError(
                f"Model {model} not in FIREWORKS_MODEL_REGISTRY. Use register_fireworks_model() to add it first."
            )
        reference_model = FIREWORKS_MODEL_REGISTRY.get(model, model)

    local = reference == "local"
    if isinstance(gguf, Model):
        tokenizer = gguf
    else:
        source = gguf if gguf is not None else GGUF_MODEL_REGISTRY.get(model, model)
        tokenizer = load_model(source, vocab_only=not local)
    details = _difr.audit(
        tokenizer, list(conversations), name, base_url.rstrip("/"), pin, target_model, api_key or "", key_env,
        reference, reference_model, reference_api_key or "", reference_key_env, int(topk_logprobs),
        float(temperature), int(top_k), float(top_p), int(seed), noise, int(max_tokens), int(concurrency),
        send_seed, logprobs, provider_ids, assume_system or "",
        os.fspath(store) if store is not None else ":memory:", verbose, float(timeout), int(max_attempts),
    )
    result = AuditResult(
        exact_match_rate=float(details["exact_match_rate"]),
        avg_prob=float(details["avg_prob"]),
        avg_margin=_number(details["avg_margin"]),
        avg_logit_rank=_number(details["avg_logit_rank"]),
        avg_gumbel_rank=_number(details["avg_gumbel_rank"]),
        infinite_margin_rate=float(details["infinite_margin_rate"]),
        total_tokens=int(details["total_tokens"]),
        n_sequences=int(details["n_prompts"]),
    )
    result.details = details
    return result
