"""token-difr's names, types, summary and registry, as difr_llm provides them."""

from __future__ import annotations

import json
import math
from dataclasses import asdict

import pytest

import difr_llm
from conftest import run_difr
from difr_llm import (
    FIREWORKS_MODEL_REGISTRY,
    OPENROUTER_MODEL_REGISTRY,
    AuditResult,
    SamplingMethod,
    TokenMetrics,
    TokenSequence,
    compute_metrics_summary,
)

# token-difr 0.1.2's __all__ (token_difr/__init__.py), less verify_outputs_tinker (Tinker is not supported).
TOKEN_DIFR_ALL = [
    "audit_provider", "AuditResult", "construct_prompts", "verify_outputs", "verify_outputs_fireworks",
    "tokenize_openrouter_responses", "TokenSequence", "TokenMetrics", "SamplingMethod",
    "compute_metrics_summary", "encode_thinking_response", "FIREWORKS_MODEL_REGISTRY",
    "OPENROUTER_MODEL_REGISTRY", "get_openrouter_name", "guess_fireworks_name", "register_fireworks_model",
    "register_openrouter_model", "__version__",
]


def test_token_difr_names_are_exported():
    missing = [n for n in TOKEN_DIFR_ALL if not hasattr(difr_llm, n)]
    assert missing == []
    assert set(TOKEN_DIFR_ALL) <= set(difr_llm.__all__)


def test_submodules_mirror_token_difr():
    # `from token_difr.common import X` becomes `from difr_llm.common import X`, and so on.
    from difr_llm.api import verify_outputs_fireworks  # noqa: F401
    from difr_llm.audit import AuditResult as A, audit_provider  # noqa: F401
    from difr_llm.common import TokenSequence as T, compute_metrics_summary as c  # noqa: F401
    from difr_llm.local import verify_outputs  # noqa: F401
    from difr_llm.model_registry import FIREWORKS_MODEL_REGISTRY as F  # noqa: F401
    from difr_llm.openrouter_api import tokenize_openrouter_responses  # noqa: F401

    assert A is AuditResult and T is TokenSequence and F is FIREWORKS_MODEL_REGISTRY


def test_token_sequence_round_trip():
    s = TokenSequence(prompt_token_ids=[1, 2, 3], output_token_ids=[4, 5])
    d = s.to_dict()
    assert d == {"prompt_token_ids": [1, 2, 3], "output_token_ids": [4, 5]}
    assert TokenSequence.from_dict(d) == s
    assert TokenSequence(**d) == s  # token-difr's README loads saved tokens this way


def test_token_metrics_keeps_token_difrs_positional_fields_and_adds_two():
    m = TokenMetrics(True, 0.25, 0.0, 2.0, 0.0)
    assert (m.predicted, math.isnan(m.logprob)) == (-1, True)
    d = TokenMetrics(False, 0.5, math.inf, 3.0, math.inf, predicted=7, logprob=-1.5).to_dict()
    assert list(d) == ["exact_match", "prob", "margin", "logit_rank", "gumbel_rank", "predicted", "logprob"]
    assert TokenMetrics.from_dict(d) == TokenMetrics(False, 0.5, math.inf, 3.0, math.inf, 7, -1.5)
    # token-difr's five keys alone, and a difr tokens.jsonl line (null = +inf in JSON).
    assert TokenMetrics.from_dict({"exact_match": True, "prob": 1, "margin": 0, "logit_rank": 0, "gumbel_rank": 0}) \
        == TokenMetrics(True, 1.0, 0.0, 0.0, 0.0)
    line = {"seq": 0, "pos": 3, "token": 9, "predicted": 4, "exact_match": False, "prob": 0, "margin": None,
            "logit_rank": 5, "gumbel_rank": None, "logprob": -7.25}
    assert TokenMetrics.from_dict(line) == TokenMetrics(False, 0.0, math.inf, 5.0, math.inf, 4, -7.25)
    line["logprob"] = None  # a top-k reference that did not return the token
    assert TokenMetrics.from_dict(line).logprob == -math.inf


def test_sampling_method_values():
    assert SamplingMethod.VLLM_GUMBEL_MAX.value == "vllm_gumbel_max"
    assert SamplingMethod.TINKER_GUMBEL_MAX.value == "tinker_gumbel_max"


def test_audit_result_fields_and_repr():
    r = AuditResult(0.98304, 0.9, 0.1, 0.2, 0.3, 0.01, 18421, 100)
    assert repr(r) == "AuditResult(98.3% match rate, 18421 tokens across 100 sequences)"
    assert list(asdict(r)) == ["exact_match_rate", "avg_prob", "avg_margin", "avg_logit_rank", "avg_gumbel_rank",
                               "infinite_margin_rate", "total_tokens", "n_sequences"]
    assert AuditResult(**asdict(r)) == r  # token-difr's audit_results.json reads back
    assert r.details == {}


def test_summary_by_hand():
    results = [
        [TokenMetrics(True, 1.0, 0.0, 0.0, 0.0), TokenMetrics(False, 0.25, 1.5, 2.0, 3.0)],
        [],
        [TokenMetrics(False, 0.0, math.inf, 7.0, math.inf)],
    ]
    s = compute_metrics_summary(results)
    assert list(s) == ["total_tokens", "exact_match_rate", "avg_prob", "avg_margin", "infinite_margin_rate",
                       "avg_logit_rank", "avg_gumbel_rank"]
    assert s["total_tokens"] == 3
    assert s["exact_match_rate"] == 1 / 3
    assert s["avg_prob"] == 1.25 / 3
    assert s["avg_margin"] == 0.75  # finite margins only: (0 + 1.5) / 2
    assert s["infinite_margin_rate"] == 1 / 3
    assert s["avg_logit_rank"] == 3.0
    assert s["avg_gumbel_rank"] == math.inf


def test_summary_of_nothing_is_zeros():
    s = compute_metrics_summary([[], []])
    assert s == {"total_tokens": 0, "exact_match_rate": 0.0, "avg_prob": 0.0, "avg_margin": 0.0,
                 "infinite_margin_rate": 0.0, "avg_logit_rank": 0.0, "avg_gumbel_rank": 0.0}


def test_summary_without_finite_margins_is_inf(capsys):
    s = compute_metrics_summary([[TokenMetrics(False, 0.0, math.inf, 1.0, math.inf)]], verbose=True)
    assert s["avg_margin"] == math.inf and s["infinite_margin_rate"] == 1.0
    assert "exact match rate 0.00%" in capsys.readouterr().out


def test_registry_is_token_difrs():
    # token-difr 0.1.2's model_registry.py: 9 Fireworks entries, 5 OpenRouter overrides.
    assert len(FIREWORKS_MODEL_REGISTRY) == 9
    assert FIREWORKS_MODEL_REGISTRY["meta-llama/Llama-3.3-70B-Instruct"] == \
        "accounts/fireworks/models/llama-v3p3-70b-instruct"
    assert FIREWORKS_MODEL_REGISTRY["zai-org/GLM-4.7"] == "accounts/fireworks/models/glm-4p7"
    assert sorted(OPENROUTER_MODEL_REGISTRY) == sorted([
        "Qwen/Qwen3-235B-A22B-Instruct-2507", "moonshotai/Kimi-K2-Instruct", "moonshotai/Kimi-K2-Instruct-0905",
        "zai-org/GLM-4.6", "zai-org/GLM-4.7"])
    assert difr_llm.get_openrouter_name("Qwen/Qwen3-235B-A22B-Instruct-2507") == "qwen/qwen3-235b-a22b-2507"
    assert difr_llm.get_openrouter_name("meta-llama/Llama-3.1-8B-Instruct") == "meta-llama/llama-3.1-8b-instruct"
    assert difr_llm.guess_fireworks_name("meta-llama/Llama-3.1-8B-Instruct") == \
        "accounts/fireworks/models/llama-3p1-8b-instruct"


def test_registry_equals_the_command_lines():
    table = json.loads(run_difr("registry", "--format", "json").stdout)["models"]
    fireworks = {m["hf"]: m["fireworks"] for m in table if "fireworks" in m}
    openrouter = {m["hf"]: m["openrouter"] for m in table if m.get("openrouter", m["hf"].lower()) != m["hf"].lower()}
    gguf = {m["hf"]: m["gguf"] for m in table if "gguf" in m}
    assert FIREWORKS_MODEL_REGISTRY == fireworks
    assert OPENROUTER_MODEL_REGISTRY == openrouter
    assert difr_llm.GGUF_MODEL_REGISTRY == gguf


def test_register_and_load_registry_file(tmp_path):
    difr_llm.register_fireworks_model("mistralai/Mistral-Large-2", "accounts/fireworks/models/mistral-large-2")
    difr_llm.register_openrouter_model("mistralai/Mistral-Large-2", "mistralai/mistral-large")
    try:
        assert FIREWORKS_MODEL_REGISTRY["mistralai/Mistral-Large-2"] == "accounts/fireworks/models/mistral-large-2"
        assert difr_llm.get_openrouter_name("mistralai/Mistral-Large-2") == "mistralai/mistral-large"
        f = tmp_path / "mine.json"
        f.write_text(json.dumps({"models": [{"hf": "org/Tiny-1.5", "fireworks": "accounts/x/tiny", "gguf": "tiny.gguf",
                                             "openrouter": "org/tiny-1.5"}]}))
        difr_llm.load_registry_file(f)
        assert FIREWORKS_MODEL_REGISTRY["org/Tiny-1.5"] == "accounts/x/tiny"
        assert difr_llm.GGUF_MODEL_REGISTRY["org/Tiny-1.5"] == "tiny.gguf"
        assert "org/Tiny-1.5" not in OPENROUTER_MODEL_REGISTRY  # it is the lowercased name
    finally:
        for d in (FIREWORKS_MODEL_REGISTRY, OPENROUTER_MODEL_REGISTRY, difr_llm.GGUF_MODEL_REGISTRY):
            d.pop("mistralai/Mistral-Large-2", None)
            d.pop("org/Tiny-1.5", None)


def test_bad_registry_file_names_file_and_entry(tmp_path):
    f = tmp_path / "bad.json"
    f.write_text('{"models": [{"hf": "a/b"}, {"fireworks": "x"}]}')
    with pytest.raises(ValueError, match=r"bad.json: models\[1\]"):
        difr_llm.load_registry_file(f)


def test_model_names_resolve(embedded):
    path = difr_llm.model_path("HuggingFaceTB/SmolLM2-135M-Instruct")  # the registry's gguf entry
    assert path == difr_llm.model_path(None) == embedded.path
    assert path.endswith("smollm2-135m-instruct-q4_1.gguf")
    assert difr_llm.model_path("smollm2-135m-instruct-q4_1") == path
    with pytest.raises(ValueError, match="register_gguf_model"):
        difr_llm.model_path("meta-llama/Llama-3.1-8B-Instruct")
    with pytest.raises(ValueError, match="neither a file nor a cached model"):
        difr_llm.model_path("no-such-model")


def test_model_object(embedded):
    assert embedded.n_vocab == 49152
    assert "llama" in embedded.description
    ids = embedded.tokenize("Hello world")
    assert embedded.detokenize(ids) == "Hello world"
    prompt = embedded.chat_tokenize([{"role": "user", "content": "Hi"}])
    text = embedded.chat_render([{"role": "user", "content": "Hi"}])
    assert text.startswith("<|im_start|>") and text.endswith("<|im_start|>assistant\n")
    assert embedded.tokenize(text) == prompt
    with pytest.raises(ValueError, match="message 0: no \"content\""):
        embedded.chat_tokenize([{"role": "user"}])
    with pytest.raises(TypeError, match="message 1: expected a dict"):
        embedded.chat_tokenize([{"role": "user", "content": "x"}, "oops"])
