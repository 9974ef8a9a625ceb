"""token-difr's README examples that need no network, run with `from token_difr` changed to `from difr_llm`.

Each example below is the README's code (token-difr 0.1.2's GitHub README and the 0.1.1 PyPI page) with the
import line changed. Where an example names a model or token ids for a 70B model, those data are replaced by
the embedded model's HF name and token ids from its own generation (the code is not changed). The results are
then compared with `difr verify` on the same inputs."""

from __future__ import annotations

import json
import math

import numpy as np

from conftest import read_jsonl, run_difr

MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"  # in difr's registry with the embedded GGUF


def test_local_verification_example(generated, tmp_path, capsys):
    """README, "Advanced: Local Model Verification" and PyPI 0.1.1's Quick Start. The package and the CLI
    both use their default engine settings (all cores), so they compute the same logits."""
    saved = json.loads(generated.read_text())
    seq = saved[0]

    # --- README (import changed; ids and model name are the embedded model's) ---
    from difr_llm import verify_outputs, TokenSequence

    # Token sequences from an untrusted source
    sequences = [
        TokenSequence(
            prompt_token_ids=seq["prompt_token_ids"],
            output_token_ids=seq["output_token_ids"],
        )
    ]

    # Verify against local model
    results = verify_outputs(
        sequences,
        model_name=MODEL,
        temperature=1.0,
        top_k=50,
        top_p=0.95,
        seed=42,
    )

    # Check verification results
    for seq_idx, token_metrics in enumerate(results):
        for tok_idx, metrics in enumerate(token_metrics):
            print(f"Seq {seq_idx}, Token {tok_idx}:")
            print(f"  exact_match: {metrics.exact_match}")
            print(f"  prob: {metrics.prob:.4f}")
            print(f"  margin: {metrics.margin:.4f}")
            print(f"  logit_rank: {metrics.logit_rank}")
            print(f"  gumbel_rank: {metrics.gumbel_rank}")
    # --- end of README ---

    printed = capsys.readouterr().out
    one = tmp_path / "one.json"
    one.write_text(json.dumps([{k: seq[k] for k in ("prompt_token_ids", "output_token_ids")}]))
    run_difr("verify", "-i", str(one), "-o", str(tmp_path / "cli"), "--temperature", "1",
             "--top-k", "50", "--top-p", "0.95", "--seed", "42")
    rows = read_jsonl(tmp_path / "cli/tokens.jsonl")
    assert len(results[0]) == len(rows) == len(seq["output_token_ids"])
    for m, r in zip(results[0], rows):
        assert (m.exact_match, np.float32(m.prob), np.float32(m.margin)) == \
            (r["exact_match"], np.float32(r["prob"]), np.float32(r["margin"]))
        assert f"  prob: {m.prob:.4f}\n" in printed
    assert printed.count("exact_match: True") == len(rows)  # the embedded model sampled them with this seed


def test_trusting_the_reference_option_2(generated, tmp_path, monkeypatch):
    """README, "Trusting the Reference", option 2: saved tokens loaded with TokenSequence(**s) and verified."""
    (tmp_path / "reference_tokens.json").write_text(json.dumps(
        [{k: s[k] for k in ("prompt_token_ids", "output_token_ids")} for s in json.loads(generated.read_text())]))
    monkeypatch.chdir(tmp_path)

    # --- README (import changed; model name is the embedded model's) ---
    from difr_llm import verify_outputs, TokenSequence
    import json as json_

    # Periodic verification: load saved tokens and verify provider
    with open("reference_tokens.json") as f:
        data = json_.load(f)
        sequences = [TokenSequence(**s) for s in data]

    results = verify_outputs(
        sequences,
        model_name=MODEL,
        temperature=0.0,
        top_k=50,
        top_p=0.95,
        seed=42,
    )
    # --- end of README ---

    # Then, as the "Manual Verification Workflow" does:
    from difr_llm import compute_metrics_summary

    summary = compute_metrics_summary(results)
    print(f"Exact match rate: {summary['exact_match_rate']:.1%}")

    run_difr("verify", "-i", "reference_tokens.json", "-o", "cli", "--temperature", "0")
    cli = json.loads((tmp_path / "cli/summary.json").read_text())
    # Both with their default engine settings (all cores).
    for k in ("total_tokens", "exact_match_rate", "avg_prob", "avg_logit_rank", "infinite_margin_rate"):
        assert summary[k] == cli[k], k
    assert summary["avg_margin"] == (cli["avg_margin"] if cli["avg_margin"] is not None else math.inf)


def test_model_registry_examples(capsys):
    """README, "Model Registry" and "Adding a New Model", verbatim but for the import."""
    from difr_llm import FIREWORKS_MODEL_REGISTRY

    # Built-in models
    print(FIREWORKS_MODEL_REGISTRY.keys())

    from difr_llm import register_fireworks_model, register_openrouter_model

    # Required: map HuggingFace name to Fireworks name
    register_fireworks_model(
        "mistralai/Mistral-Large-2",
        "accounts/fireworks/models/mistral-large-2"
    )

    # Occasionally OpenRouter names differ from hf_name.lower() as well
    register_openrouter_model(
        "Qwen/Qwen3-235B-A22B-Instruct-2507",
        "qwen/qwen3-235b-a22b-2507"
    )

    out = capsys.readouterr().out
    assert out.startswith("dict_keys(['meta-llama/Llama-3.3-70B-Instruct', 'meta-llama/Llama-3.1-8B-Instruct', ")
    from difr_llm import get_openrouter_name

    assert FIREWORKS_MODEL_REGISTRY.pop("mistralai/Mistral-Large-2") == "accounts/fireworks/models/mistral-large-2"
    assert get_openrouter_name("Qwen/Qwen3-235B-A22B-Instruct-2507") == "qwen/qwen3-235b-a22b-2507"


def test_construct_prompts_example(tmp_path):
    """README, "Quick Start": prompts for a model, from a local WildChat file instead of the hub (``dataset=``
    added: token-difr downloads WildChat-1M, difr reads it from disk)."""
    records = [{"conversation": [{"role": "user", "content": f"Question number {i}?"}], "language": "English"}
               for i in range(150)]
    (tmp_path / "wildchat.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))

    from difr_llm import construct_prompts

    # Load prompts from WildChat dataset
    prompts = construct_prompts(
        n_prompts=100,
        model_name=MODEL,
        system_prompt="You are a helpful assistant.",
        dataset=tmp_path / "wildchat.jsonl",
    )
    assert len(prompts) == 100
    assert prompts[7] == [{"role": "system", "content": "You are a helpful assistant."},
                          {"role": "user", "content": "Question number 7?"}]
