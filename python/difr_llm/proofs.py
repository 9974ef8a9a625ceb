"""Artifacts and activation proofs: ``difr validate`` and ``difr toploc build|verify`` in Python.

Activation fingerprints and TOPLOC proofs of generated tokens are checked by verify_outputs(fingerprints=...),
as ``difr verify --fingerprints`` does; this module holds the validators that need no token sequences.
"""

from __future__ import annotations

import os
from typing import Any, Sequence, Union

import numpy as np

from . import _difr
from .local import ToplocThresholds
from .models import Model, load_model

__all__ = ["validate_artifact", "toploc_build", "toploc_verify", "ToplocThresholds"]

Activations = Union[str, "os.PathLike[str]", Sequence[np.ndarray]]


def _activations(activations: Activations) -> Any:
    if isinstance(activations, (str, os.PathLike)):
        return os.fspath(activations)
    # float64 and other float arrays are rounded to float32 first (the native side rounds float32 to bf16).
    out = []
    for a in activations:
        arr = np.asarray(a)
        if arr.dtype != np.uint16 and arr.dtype != np.float32 and np.issubdtype(arr.dtype, np.floating):
            arr = arr.astype(np.float32)
        out.append(np.ascontiguousarray(arr))
    return out


def _proofs(proofs: str | os.PathLike[str] | Sequence[str]) -> list[str]:
    if isinstance(proofs, (str, os.PathLike)):  # a file, one proof per line, as `difr toploc verify --proofs`
        with open(proofs, encoding="utf-8") as f:
            return [line.rstrip("\r\n ") for line in f if line.strip()]
    return [str(p) for p in proofs]


def toploc_build(activations: Activations, *, topk: int, decode_batching_size: int,
                 skip_prefill: bool = False) -> list[str]:
    """TOPLOC proofs (toploc 0.1.6's format) of activations, one base64 string per chunk (``difr toploc build``).

    activations: an .npz path (arrays a0, a1, ...) or a sequence of arrays: the prefill [L, H] first unless
        skip_prefill, then one [H] per decode step; uint16 (bf16 bits) or float (rounded to bf16 to nearest
        even, as torch's ``.to(torch.bfloat16)``).
    """
    return _difr.toploc_build(_activations(activations), int(topk), int(decode_batching_size), bool(skip_prefill))


def toploc_verify(activations: Activations, proofs: str | os.PathLike[str] | Sequence[str], *, topk: int,
                  decode_batching_size: int, skip_prefill: bool = False, semantics: str = "cpp",
                  thresholds: ToplocThresholds | None = None) -> list[dict[str, Any]]:
    """Checks TOPLOC proofs against the verifier's own activations (``difr toploc verify``).

    proofs: base64 strings, one per chunk, or a file of them (one per line). Returns one dict per chunk,
    {"chunk", "exp_mismatches", "mant_err_mean", "mant_err_median", "pass"}, the lines the command prints;
    "pass" applies thresholds (default: toploc-experiments' 38 / 10 / 8). semantics: "cpp" (the package's C++
    path, difr's default) or "python" (its list path). A malformed proof or a proof count other than the chunk
    count raises ValueError naming the proof.
    """
    return _difr.toploc_verify(_activations(activations), _proofs(proofs), int(topk), int(decode_batching_size),
                               bool(skip_prefill), semantics,
                               thresholds if thresholds is not None else ToplocThresholds())


def validate_artifact(artifact: str | os.PathLike[str], model: str | os.PathLike[str] | Model | None = None, *,
                      against: str | os.PathLike[str] | None = None, gonka_preset: str = "mainnet",
                      gonka_threshold: float | None = None, joint_threshold: float | None = None,
                      difr_threshold: float | None = None, noise: str = "vllm", token_difr: bool = True,
                      reference: str = "local", reference_model: str | None = None, api_key_env: str = "",
                      topk: int = 5, timeout: float = 120.0, max_attempts: int = 3,
                      threads: int | None = None) -> dict[str, Any]:
    """Validates an inference artifact (``difr validate``); returns its JSON report as Python objects.

    artifact: a difr artifact or an OpenAI-style response with logprobs (docs/artifacts.md).
    model: the reference (a GGUF path, a cached name, an HF name in the registry, a loaded Model; None: the
        embedded model). Not needed with against=, the validator's artifact, compared offline as Gonka's
        validator compares responses.
    gonka_preset ("mainnet" 0.98, "pr132" 0.95, "testnet" 0.85) or gonka_threshold; joint_threshold (minimum
        mean log P per token) and difr_threshold (minimum Token-DiFR exact-match rate) decide those checks;
        noise is Token-DiFR's profile; token_difr=False skips it.
    reference: "local" (the engine) or "fireworks=URL" / "vllm=URL" (the model is then loaded for its
        vocabulary only; reference_model is the model name sent, default the GGUF's file name).
    The report holds per sequence and pooled every check's decision, statistic, threshold and its source.
    """
    art = os.fspath(artifact)
    if against is not None:
        return _difr.validate(None, art, os.fspath(against), gonka_preset, gonka_threshold, joint_threshold,
                              difr_threshold, noise, token_difr, reference, "", api_key_env, int(topk),
                              float(timeout), int(max_attempts))
    remote = reference != "local"
    if isinstance(model, Model):
        m = model
    else:
        m = load_model(model, vocab_only=remote, threads=threads)
    if reference_model is None:
        reference_model = os.path.splitext(os.path.basename(m.path))[0]
    return _difr.validate(m, art, "", gonka_preset, gonka_threshold, joint_threshold, difr_threshold, noise,
                          token_difr, reference, reference_model, api_key_env, int(topk), float(timeout),
                          int(max_attempts))
