"""Verification against a remote prompt-logprob reference: Fireworks-style echo logprobs, vLLM's
prompt_logprobs, or ``difr serve`` (either wire). token-difr's verify_outputs_fireworks, for any of them."""

from __future__ import annotations

import asyncio
import os
from typing import Any, Sequence

from . import _difr
from .common import TokenMetrics, TokenSequence, compute_metrics_summary
from .local import metrics_from_run

__all__ = ["verify_outputs_fireworks", "verify_outputs_reference"]


def verify_outputs_reference(
    outputs: Sequence[TokenSequence],
    vocab_size: int,
    *,
    temperature: float,
    top_k: int,
    top_p: float,
    seed: int,
    base_url: str,
    model: str,
    wire: str = "fireworks",
    api_key: str | None = None,
    api_key_env: str | None = None,
    topk_logprobs: int = 20,
    verbose: bool = True,
    concurrency: int = 10,
    noise: str = "vllm",
    timeout: float = 120.0,
    max_attempts: int = 5,
    out_dir: str | os.PathLike[str] | None = None,
) -> list[list[TokenMetrics]]:
    """Verifies token sequences against a remote reference (``difr verify --reference``), synchronously.

    base_url: the endpoint up to /v1 (https://api.fireworks.ai/inference/v1, http://host:8000/v1).
    wire: "fireworks" (echo + top_logprobs; Fireworks, difr serve) or "vllm" (prompt_logprobs; vLLM, difr
        serve).
    api_key / api_key_env: the key itself, or the environment variable holding it (FIREWORKS_API_KEY by
        default for a fireworks.ai URL); keys are never stored or printed.
    topk_logprobs: logprobs per position; tokens outside them are -inf, as in token-difr.

    Each row is scored like raw logits with difr's semantics (docs/audit.md), so at T > 0 the claimed noise
    is replayed; token-difr's API path ignores the sampling settings and is greedy. Requests are retried on
    429, 5xx and timeouts. Ctrl-C stops new requests; those in flight finish first.
    """
    if wire not in ("fireworks", "vllm"):
        raise ValueError(f"wire '{wire}': expected 'fireworks' (echo logprobs) or 'vllm' (prompt_logprobs)")
    run = _difr.verify_remote(
        outputs, int(vocab_size), f"{wire}={base_url}", model, api_key or "", api_key_env or "",
        int(topk_logprobs), float(temperature), int(top_k), float(top_p), int(seed), noise, int(concurrency),
        float(timeout), 10.0, int(max_attempts), 1.0, os.fspath(out_dir) if out_dir is not None else "",
        "python", verbose,
    )
    results = metrics_from_run(run)
    if verbose:
        compute_metrics_summary(results, verbose=True)
    return results


async def verify_outputs_fireworks(
    outputs: Sequence[TokenSequence],
    vocab_size: int,
    *,
    temperature: float,
    top_k: int,
    top_p: float,
    seed: int,
    client: Any,
    model: str,
    topk_logprobs: int = 20,
    verbose: bool = True,
    concurrency: int = 10,
    wire: str = "fireworks",
    noise: str = "vllm",
) -> list[list[TokenMetrics]]:
    """token-difr's verify_outputs_fireworks (async): ``await`` it, or ``asyncio.run(...)`` it.

    client: an OpenAI client (AsyncOpenAI or OpenAI: its base_url and api_key are used; difr sends the
        requests itself), or a base URL string. Any prompt-logprob server works: ``wire="vllm"`` for vLLM's
        prompt_logprobs. See verify_outputs_reference for the semantics.
    """
    if isinstance(client, str):
        base_url, api_key = client, None
    else:
        base_url, api_key = str(client.base_url), getattr(client, "api_key", None)
    return await asyncio.to_thread(
        verify_outputs_reference,
        outputs,
        vocab_size,
        temperature=temperature,
        top_k=top_k,
        top_p=top_p,
        seed=seed,
        base_url=base_url.rstrip("/"),
        model=model,
        wire=wire,
        api_key=api_key,
        topk_logprobs=topk_logprobs,
        verbose=verbose,
        concurrency=concurrency,
        noise=noise,
    )
