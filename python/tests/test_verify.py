"""verify_outputs against `difr verify` on the same sequences, model and settings: the same numbers, token for
token; and bad input named by sequence and position, never a crash."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import difr_llm
from conftest import SAMPLED, THREADS, read_jsonl, run_difr
from difr_llm import TokenMetrics, TokenSequence, compute_metrics_summary, verify_outputs

SUMMARY_KEYS = ["total_tokens", "exact_match_rate", "avg_prob", "avg_margin", "infinite_margin_rate",
                "avg_logit_rank", "avg_gumbel_rank"]


def cli_verify(sequences: Path, out: Path, *args: str) -> tuple[list[dict], dict]:
    run_difr("verify", "-i", str(sequences), "-o", str(out), "-t", str(THREADS), *args)
    return read_jsonl(out / "tokens.jsonl"), json.loads((out / "summary.json").read_text())


def as_f32(x: float | None, null: float = math.inf) -> float:
    # tokens.jsonl writes infinities as null: +inf margins and ranks, -inf logprobs.
    return null if x is None else float(np.float32(x))


def assert_rows_equal(results: list[list[TokenMetrics]], rows: list[dict], sequences: list[TokenSequence]):
    flat = [(i, j, m) for i, ms in enumerate(results) for j, m in enumerate(ms)]
    assert len(flat) == len(rows) > 0
    for (i, j, m), r in zip(flat, rows):
        assert (r["seq"], r["pos"], r["token"]) == (i, j, sequences[i].output_token_ids[j])
        # tokens.jsonl has 9 significant digits: every float32 reads back exactly.
        got = (m.exact_match, m.predicted, np.float32(m.prob), np.float32(m.margin), m.logit_rank,
               np.float32(m.gumbel_rank), np.float32(m.logprob))
        want = (r["exact_match"], r["predicted"], as_f32(r["prob"]), as_f32(r["margin"]), float(r["logit_rank"]),
                as_f32(r["gumbel_rank"]), as_f32(r["logprob"], -math.inf))
        assert got == want, (i, j)


def load(path: Path) -> list[TokenSequence]:
    return [TokenSequence.from_dict(s) for s in json.loads(path.read_text())]


@pytest.mark.parametrize("settings, noise", [
    (SAMPLED, "vllm"),
    (dict(temperature=0.0, top_k=50, top_p=0.95, seed=42), "vllm"),
    (SAMPLED, "torch-cpu"),
])
def test_equals_difr_verify(generated, embedded, tmp_path, settings, noise):
    sequences = load(generated)
    rows, summary = cli_verify(generated, tmp_path / "cli", "--temperature", str(settings["temperature"]),
                               "--top-k", str(settings["top_k"]), "--top-p", str(settings["top_p"]),
                               "--seed", str(settings["seed"]), "--noise", noise)
    results = verify_outputs(sequences, embedded, **settings, noise=noise, verbose=False)
    assert_rows_equal(results, rows, sequences)
    ours = compute_metrics_summary(results)
    for k in SUMMARY_KEYS:
        want = summary[k] if summary[k] is not None else math.inf
        assert ours[k] == want, k
    if settings["temperature"] > 0 and noise == "vllm":
        assert ours["exact_match_rate"] == 1.0  # the embedded model generated them with this sampler


def test_out_dir_writes_what_difr_verify_writes(generated, embedded, tmp_path):
    sequences = load(generated)
    cli_verify(generated, tmp_path / "cli", "--temperature", "1", "--top-k", "50", "--top-p", "0.95",
               "--seed", "43")
    verify_outputs(sequences, embedded, temperature=1.0, top_k=50, top_p=0.95, seed=43, verbose=False,
                   out_dir=tmp_path / "py")
    assert (tmp_path / "py/tokens.jsonl").read_bytes() == (tmp_path / "cli/tokens.jsonl").read_bytes()
    a = json.loads((tmp_path / "cli/summary.json").read_text())
    b = json.loads((tmp_path / "py/summary.json").read_text())
    for s in (a, b):
        for k in ("input", "seconds"):
            s["provenance"].pop(k)
    assert a == b
    assert b["exact_match_rate"] < 0.9  # seed 43 is not the seed the tokens were sampled with


def test_model_by_name_and_verbose_output(generated, capfd):
    sequences = load(generated)[:1]
    results = verify_outputs(sequences, "HuggingFaceTB/SmolLM2-135M-Instruct", **SAMPLED, threads=THREADS)
    assert all(m.exact_match for m in results[0])
    out = capfd.readouterr()  # the progress bar is written by C++ to file descriptor 2
    assert "exact match rate 100.00%" in out.out
    assert "verify" in out.err  # the progress bar


def test_empty_outputs_and_dicts(embedded):
    seqs = [TokenSequence([1, 2, 3], []), {"prompt_token_ids": [1, 2], "output_token_ids": [3, 4]},
            ([5, 6], np.array([7], dtype=np.int64))]
    with pytest.raises(TypeError, match="sequence 2: expected a TokenSequence"):
        verify_outputs(seqs, embedded, **SAMPLED, verbose=False)
    results = verify_outputs(seqs[:2], embedded, **SAMPLED, verbose=False)
    assert results[0] == [] and len(results[1]) == 2


def test_accepts_numpy_ids_and_ignores_vllm_settings_with_a_warning(embedded):
    s = TokenSequence(np.array([1, 2, 3]), np.array([4, 5], dtype=np.int32))
    with pytest.warns(UserWarning, match="vLLM settings"):
        r = verify_outputs([s], embedded, **SAMPLED, verbose=False, vllm_kwargs={"quantization": "fp8"})
    assert len(r[0]) == 2


@pytest.mark.parametrize(
    "seqs, error, pattern",
    [
        ([TokenSequence([1, 2], [3]), TokenSequence([1, 2], [4, 5, 99999])], ValueError,
         r"sequence 1, output position 2: token id 99999 is outside the model's vocabulary \[0, 49152\)"),
        ([TokenSequence([1, -3], [3])], ValueError, r"sequence 0, prompt position 1: token id -3"),
        ([TokenSequence([1], [2, 2**40])], ValueError, r"sequence 0, output position 1: token id 1099511627776"),
        ([TokenSequence([1], [2, "x"])], TypeError, r"sequence 0, output position 1: a token id must be an integer"),
        ([TokenSequence([1], [2, 3.0])], TypeError, r"sequence 0, output position 1: .*float"),
        ([TokenSequence([], [2])], ValueError, r"sequence 0: the prompt is empty"),
        ([TokenSequence([1], 5)], TypeError, r"sequence 0, output token ids: expected a list of integers"),
        ([{"prompt_token_ids": [1]}], ValueError, r"sequence 0: the dict has no \"output_token_ids\""),
        (TokenSequence([1], [2]), TypeError, r"outputs: expected a list of TokenSequence, got .*TokenSequence"),
        (5, TypeError, r"outputs: expected a list of TokenSequence"),
    ],
)
def test_bad_sequences_name_sequence_and_position(embedded, seqs, error, pattern):
    with pytest.raises(error, match=pattern):
        verify_outputs(seqs, embedded, **SAMPLED, verbose=False)


def test_bad_settings(embedded):
    s = [TokenSequence([1, 2], [3])]
    with pytest.raises(ValueError, match="unknown noise profile 'vllm-9'"):
        verify_outputs(s, embedded, **SAMPLED, noise="vllm-9", verbose=False)
    with pytest.raises(ValueError, match="top_p"):
        verify_outputs(s, embedded, temperature=1.0, top_k=50, top_p=0.0, seed=1, verbose=False)
    with pytest.raises(ValueError, match="Unsupported sampling method"):
        verify_outputs(s, embedded, **SAMPLED, sampling_method=difr_llm.SamplingMethod.TINKER_GUMBEL_MAX)
    with pytest.raises(ValueError, match=r"sequence 0: 300 prompt \+ 1 output tokens exceed the context of 64"):
        verify_outputs([TokenSequence([1] * 300, [3])], "smollm2-135m-instruct-q4_1", **SAMPLED, max_model_len=64,
                       verbose=False)
    vocab = difr_llm.load_model(vocab_only=True)
    with pytest.raises(ValueError, match="vocab_only"):
        verify_outputs(s, vocab, **SAMPLED, verbose=False)
