"""Local verification on difr's llama.cpp engine: token-difr's verify_outputs without vLLM, torch or a GPU."""

from __future__ import annotations

import os
import warnings
from typing import Any, Sequence

import numpy as np

from . import _difr
from .common import SamplingMethod, TokenMetrics, TokenSequence, compute_metrics_summary
from .models import Model, load_model

__all__ = ["verify_outputs", "metrics_from_run", "VerifyResults", "ToplocThresholds"]

ToplocThresholds = _difr.ToplocThresholds


class VerifyResults(list):  # type: ignore[type-arg]
    """What verify_outputs returns: token-difr's list of TokenMetrics lists, plus what difr also learnt.

    noise: the profile the metrics are under (with noise="auto", the one identified).
    identification: with noise="auto", the evidence per profile (summary.json's noise_identification:
        verdict, best, log10 LR over the runner-up, each profile's matches); None otherwise.
    fingerprints, toploc: with fingerprints=, the checks of the claimed activation proofs (summary.json's
        "fingerprints" and "toploc" figures, plus per-token distances "l2", "relative" and per-chunk
        "results"); None when the file holds no such proofs or none was given.
    """

    noise: str
    identification: dict[str, Any] | None
    fingerprints: dict[str, Any] | None
    toploc: dict[str, Any] | None


def metrics_from_run(run: dict[str, Any]) -> list[list[TokenMetrics]]:
    """The per-sequence TokenMetrics lists of a native verification's flat columns."""
    columns = [run[k].tolist() for k in ("exact_match", "prob", "margin", "logit_rank", "gumbel_rank",
                                         "predicted", "logprob")]
    flat = list(map(TokenMetrics, *columns))
    offsets: np.ndarray = run["offsets"]
    return [flat[a:b] for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist())]


def verify_outputs(
    outputs: Sequence[TokenSequence],
    model_name: str | os.PathLike[str] | Model,
    *,
    temperature: float,
    top_k: int,
    top_p: float,
    seed: int,
    max_model_len: int | None = None,
    dtype: Any = None,
    vllm_kwargs: dict[str, Any] | None = None,
    sampling_method: SamplingMethod = SamplingMethod.VLLM_GUMBEL_MAX,
    gpu_memory_utilization: float = 0.7,
    verbose: bool = True,
    noise: str = "vllm",
    min_p: float = 0.0,
    out_dir: str | os.PathLike[str] | None = None,
    threads: int | None = None,
    batch: int = 512,
    parallel: int = 4,
    kv_type: str = "f16",
    flash_attn: str = "off",
    gpu_layers: int = 0,
    fingerprints: str | os.PathLike[str] | None = None,
    toploc_thresholds: ToplocThresholds | None = None,
) -> VerifyResults:
    """Verifies token sequences against a reference model on difr's engine (``difr verify``).

    token-difr's signature and result: one list of TokenMetrics per sequence ([] for an empty output).

    model_name: a GGUF path, a model in difr's cache, an HF name with a GGUF in the registry
        (GGUF_MODEL_REGISTRY), or a loaded difr_llm.Model (reused, with the settings it was loaded with).
    temperature, top_k, top_p, seed: the claimed sampling settings.
    noise: the noise profile of the claimed sampler (noise_profiles() lists them: "vllm", "vllm-0.30",
        "sglang", "torch-cpu", "llama.cpp", ...), or "auto" (``difr verify --noise auto``): every profile is
        scored in the same pass and the metrics are those of the profile that explains the tokens best
        (result.noise, with the evidence in result.identification).
    fingerprints: a fingerprints file from ``difr generate --fingerprint/--toploc`` (``difr verify
        --fingerprints``): the claimed activation fingerprints and TOPLOC proofs are checked against the
        engine's own hidden states of the same rows (result.fingerprints, result.toploc; with out_dir also
        fingerprints.jsonl and toploc.jsonl). toploc_thresholds: when a TOPLOC chunk passes.
    max_model_len: the context per sequence (difr's --ctx); None sizes it from the inputs.
    out_dir: also write tokens.jsonl and summary.json there, as ``difr verify -o`` does (a sequence's lines
        are flushed as it finishes, so an interrupted run keeps them).
    threads, batch, parallel, kv_type, flash_attn, gpu_layers: engine settings (difr's options), used when
        the model is loaded here.
    dtype, vllm_kwargs, gpu_memory_utilization: vLLM's; a GGUF fixes its own precision, so they are
        accepted for token-difr scripts and otherwise ignored (with a warning when set).

    Bad input (an id outside the vocabulary, a sequence longer than the context, a non-integer id) raises
    ValueError or TypeError naming the sequence and position before anything is computed. The GIL is released
    while the engine runs; Ctrl-C raises KeyboardInterrupt within one decode call.
    """
    if sampling_method != SamplingMethod.VLLM_GUMBEL_MAX:
        raise ValueError(f"Unsupported sampling method: {sampling_method}. Only VLLM_GUMBEL_MAX is supported.")
    if dtype is not None or vllm_kwargs or gpu_memory_utilization != 0.7:
        warnings.warn(
            "dtype, vllm_kwargs and gpu_memory_utilization are vLLM settings; difr verifies with the GGUF's own "
            "weights and ignores them",
            stacklevel=2,
        )
    if isinstance(model_name, Model):
        model = model_name
    else:
        model = load_model(model_name, threads=threads, batch=batch, parallel=parallel, ctx=max_model_len or 0,
                           kv_type=kv_type, flash_attn=flash_attn, gpu_layers=gpu_layers)
    run = _difr.verify(model, outputs, float(temperature), int(top_k), float(top_p), int(seed), float(min_p),
                       noise, os.fspath(out_dir) if out_dir is not None else "", "python", verbose,
                       os.fspath(fingerprints) if fingerprints is not None else "",
                       toploc_thresholds if toploc_thresholds is not None else ToplocThresholds())
    results = VerifyResults(metrics_from_run(run))
    results.noise = run["noise"]
    results.identification = run["identification"]
    proofs = run.get("proofs") or {}
    results.fingerprints = proofs.get("fingerprints")
    results.toploc = proofs.get("toploc")
    if verbose:
        if results.identification is not None:
            print(f"noise: {results.noise} ({results.identification['verdict']})")
        compute_metrics_summary(results, verbose=True)
    return results
