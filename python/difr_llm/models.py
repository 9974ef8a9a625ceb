"""Models: a GGUF file, a model in difr's model cache, or a HuggingFace name the registry maps to one."""

from __future__ import annotations

import os
from typing import Union

from . import _difr
from .model_registry import GGUF_MODEL_REGISTRY

__all__ = ["Model", "load_model", "model_path", "EMBEDDED_MODEL"]

Model = _difr.Model
EMBEDDED_MODEL: str = _difr.EMBEDDED_MODEL

ModelLike = Union[str, "os.PathLike[str]", Model]


def model_path(name: str | os.PathLike[str] | None) -> str:
    """The GGUF file a name means: a path as given, an HF name of GGUF_MODEL_REGISTRY, or a cached model's name
    ("smollm2-135m-instruct-q4_1"). None or "" is the embedded model. Raises InputError (a ValueError) saying
    where it looked."""
    if name is None:
        return _difr.model_resolve("")
    text = os.fspath(name)
    if os.path.exists(text):
        return text
    if text in GGUF_MODEL_REGISTRY:
        return _difr.model_resolve(GGUF_MODEL_REGISTRY[text])
    try:
        return _difr.model_resolve(text)
    except _difr.InputError as e:
        if "/" in text and not text.endswith(".gguf"):
            raise _difr.InputError(
                f"model '{text}' has no GGUF in difr's registry and is no file or cached model: register one "
                f"with difr_llm.register_gguf_model('{text}', 'path/to/model.gguf'), or pass the GGUF path"
            ) from None
        raise e


def load_model(
    name: str | os.PathLike[str] | None = None,
    *,
    vocab_only: bool = False,
    threads: int | None = None,
    batch: int = 512,
    parallel: int = 4,
    ctx: int = 0,
    kv_type: str = "f16",
    flash_attn: str = "off",
    repack: bool = False,
    gpu_layers: int = 0,
) -> Model:
    """Loads a model with the engine settings it will verify with (difr's --threads, --batch, --parallel, --ctx,
    --kv-type, --flash-attn, --repack, --gpu-layers). ``vocab_only`` loads the vocabulary and chat template
    only: enough to tokenise, or to verify against a remote reference."""
    return Model(
        model_path(name),
        vocab_only=vocab_only,
        threads=threads or 0,
        batch=batch,
        parallel=parallel,
        ctx=ctx,
        kv_type=kv_type,
        flash_attn=flash_attn,
        repack=repack,
        gpu_layers=gpu_layers,
    )
