"""token-difr's model registry, read from difr's registry file (data/registry.json).

The dicts are plain and mutable, as in token-difr: ``register_*`` writes into them and every difr_llm
function that needs a provider's name for a model reads them. Files named by ``$DIFR_REGISTRY`` (as for the
``difr`` command line) or passed to ``load_registry_file`` override the built-in entries.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import _difr

__all__ = [
    "FIREWORKS_MODEL_REGISTRY",
    "OPENROUTER_MODEL_REGISTRY",
    "GGUF_MODEL_REGISTRY",
    "register_fireworks_model",
    "register_openrouter_model",
    "register_gguf_model",
    "get_openrouter_name",
    "guess_fireworks_name",
    "load_registry_file",
]

# HF name -> Fireworks name (accounts/fireworks/models/...).
FIREWORKS_MODEL_REGISTRY: dict[str, str] = {}
# HF name -> OpenRouter id, only where it differs from the HF name lowercased (token-difr's rule).
OPENROUTER_MODEL_REGISTRY: dict[str, str] = {}
# HF name -> a model in difr's cache (difr models), what verify_outputs loads for an HF name.
GGUF_MODEL_REGISTRY: dict[str, str] = {}


def _builtin_path() -> str:
    # An installed package carries its copy; a build tree has one beside the extension too.
    here = Path(__file__).with_name("registry.json")
    return str(here) if here.is_file() else _difr.registry_builtin_path()


def load_registry_file(path: str | os.PathLike[str]) -> None:
    """Merges a registry file ({"models": [{"hf": ..., "fireworks": ..., ...}]}) into the dicts."""
    for hf, names in _difr.registry_read([os.fspath(path)]):
        for kind, name in names:
            if kind == "fireworks":
                FIREWORKS_MODEL_REGISTRY[hf] = name
            elif kind == "openrouter":
                if name != hf.lower():
                    OPENROUTER_MODEL_REGISTRY[hf] = name
                else:
                    OPENROUTER_MODEL_REGISTRY.pop(hf, None)
            elif kind == "gguf":
                GGUF_MODEL_REGISTRY[hf] = name


def register_fireworks_model(hf_name: str, fireworks_name: str) -> None:
    """Maps a HuggingFace name to its Fireworks name."""
    FIREWORKS_MODEL_REGISTRY[hf_name] = fireworks_name


def register_openrouter_model(hf_name: str, openrouter_name: str) -> None:
    """Maps a HuggingFace name to its OpenRouter id (needed only where it is not the name lowercased)."""
    OPENROUTER_MODEL_REGISTRY[hf_name] = openrouter_name


def register_gguf_model(hf_name: str, gguf: str) -> None:
    """Maps a HuggingFace name to a GGUF file or a model in difr's cache (difr)."""
    GGUF_MODEL_REGISTRY[hf_name] = gguf


def get_openrouter_name(hf_name: str) -> str:
    """The OpenRouter id: the registered one, else the HF name lowercased."""
    return OPENROUTER_MODEL_REGISTRY.get(hf_name, hf_name.lower())


def guess_fireworks_name(hf_name: str) -> str:
    """token-difr's heuristic: accounts/fireworks/models/ + the name after the org, lowercased, '.' as 'p'."""
    return _difr.registry_guess_fireworks(hf_name)


load_registry_file(_builtin_path())
if os.environ.get("DIFR_REGISTRY"):
    load_registry_file(os.environ["DIFR_REGISTRY"])
