"""difr_llm: token-difr's API on difr's native core.

Verify that an LLM provider runs the model, precision, prompt and sampling settings it claims, with no GPU,
vLLM or torch. Replace ``from token_difr import ...`` with ``from difr_llm import ...``; see docs/python.md.
"""

import os

# As token-difr does: Hugging Face tokenizers (usable with construct_prompts) warn about forks otherwise.
os.environ["TOKENIZERS_PARALLELISM"] = "false"

from ._difr import InputError, RemoteError  # noqa: E402
from .api import verify_outputs_fireworks, verify_outputs_reference  # noqa: E402
from .audit import AuditResult, audit_provider  # noqa: E402
from .common import (  # noqa: E402
    SamplingMethod,
    TokenMetrics,
    TokenSequence,
    compute_metrics_summary,
    construct_prompts,
    encode_thinking_response,
)
from .local import ToplocThresholds, VerifyResults, verify_outputs  # noqa: E402
from .metrics import TokenMetricsArrays, noise_profiles, token_metrics  # noqa: E402
from .model_registry import (  # noqa: E402
    FIREWORKS_MODEL_REGISTRY,
    GGUF_MODEL_REGISTRY,
    OPENROUTER_MODEL_REGISTRY,
    get_openrouter_name,
    guess_fireworks_name,
    load_registry_file,
    register_fireworks_model,
    register_gguf_model,
    register_openrouter_model,
)
from .models import EMBEDDED_MODEL, Model, load_model, model_path  # noqa: E402
from .proofs import toploc_build, toploc_verify, validate_artifact  # noqa: E402
from .openrouter_api import tokenize_openrouter_responses  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    # token-difr 0.1.2's names
    "audit_provider",
    "AuditResult",
    "construct_prompts",
    "verify_outputs",
    "verify_outputs_fireworks",
    "tokenize_openrouter_responses",
    "TokenSequence",
    "TokenMetrics",
    "SamplingMethod",
    "compute_metrics_summary",
    "encode_thinking_response",
    "FIREWORKS_MODEL_REGISTRY",
    "OPENROUTER_MODEL_REGISTRY",
    "get_openrouter_name",
    "guess_fireworks_name",
    "register_fireworks_model",
    "register_openrouter_model",
    "__version__",
    # difr's
    "token_metrics",
    "TokenMetricsArrays",
    "noise_profiles",
    "verify_outputs_reference",
    "Model",
    "load_model",
    "model_path",
    "EMBEDDED_MODEL",
    "GGUF_MODEL_REGISTRY",
    "register_gguf_model",
    "load_registry_file",
    "InputError",
    "RemoteError",
    "VerifyResults",
    "validate_artifact",
    "toploc_build",
    "toploc_verify",
    "ToplocThresholds",
]
