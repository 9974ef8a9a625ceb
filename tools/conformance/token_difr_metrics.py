"""Goldens for difr's per-token metrics against token-difr 0.1.2's own functions, run on the CPU.

The full-logits path is token_difr.local.verify_outputs after vLLM has returned its logits (the lines after
`_prompt_logprobs_to_tensor`), so that is what runs here, line for line, on synthetic logits. The top-k
logprobs path is token_difr.api's _sparse_logprobs_to_tensor + _compute_verification_metrics_from_logprobs.
"""

from __future__ import annotations

import numpy as np
import torch
from token_difr.api import _compute_verification_metrics_from_logprobs, _sparse_logprobs_to_tensor
from token_difr.common import _get_probs, _verify_vllm_gumbel_max

import torch_cpu
from goldens import f32_bit, f32_bits, golden_meta, synthetic_logits, write_golden

J = 5  # output positions per sequence; the torch-cpu noise is one row per position, in order


def row_specs(n_vocab: int, rng: np.random.Generator, n_rows: int) -> list[dict]:
    specs = []
    for j in range(n_rows):
        spikes = rng.choice(n_vocab, 16, replace=False)
        vals = np.round(rng.uniform(1.0, 8.0, len(spikes)) * 8) / 8
        spec = {
            "seed": int(rng.integers(0, 2**63)),
            "scale_log2": int(rng.choice([1, 2])),
            "spikes": [[int(t), float(v)] for t, v in zip(spikes, vals)],
        }
        if j == J - 1:
            # A token so unlikely that its float32 probability underflows to 0: token-difr's top-p mask
            # `cumsum <= 1 - p` drops it even at p = 1.
            spec["spikes"].append([int(rng.integers(0, n_vocab)), -200.0])
        specs.append(spec)
    return specs


def verify(logits_JV: torch.Tensor, gen_ids: list[int], temperature: float, top_k: int, top_p: float, seed: int):
    """token_difr.local.verify_outputs from `J = logits_JV.shape[0]` on, with its device = CPU."""
    J_ = logits_JV.shape[0]
    gold_col_idx_J = torch.as_tensor(gen_ids, dtype=torch.long)
    top_k_tensor_J = torch.full((J_,), top_k, dtype=torch.long)
    top_p_tensor_J = torch.full((J_,), top_p, dtype=logits_JV.dtype)
    logits_JV = logits_JV.float()
    probs_JV = _get_probs(logits_JV, temperature, top_k_tensor_J, top_p_tensor_J)
    row_idx_J = torch.arange(J_)
    gold_logits_J = logits_JV[row_idx_J, gold_col_idx_J]
    logit_ranks_J = (logits_JV > gold_logits_J.unsqueeze(1)).sum(dim=1).float()
    probs_gold_J = probs_JV.gather(1, gold_col_idx_J.view(-1, 1)).squeeze(1)
    pred_ids_J, gumbel_ranks_J, margins_J = _verify_vllm_gumbel_max(
        temperature=temperature,
        seed=seed,
        logits_JV=logits_JV,
        probs_JV=probs_JV,
        gold_col_idx_J=gold_col_idx_J,
        top_k_tensor_J=top_k_tensor_J,
        top_p_tensor_J=top_p_tensor_J,
    )
    return pred_ids_J, probs_gold_J, margins_J, logit_ranks_J, gumbel_ranks_J, probs_JV


def choose_claimed(j: int, spec: dict, pred: int, score: torch.Tensor, rng: np.random.Generator) -> tuple[int, str]:
    """Claims of every kind. `score` orders the tokens as the sampler did (-inf where filtered out)."""
    kept = torch.nonzero(score > -torch.inf).flatten().tolist()
    masked = torch.nonzero(score == -torch.inf).flatten().tolist()
    if j == 0:
        return pred, "argmax"
    if j == 1:  # a near miss: the second best score, the smallest margins a verifier sees
        alt = [t for t in torch.argsort(score, descending=True, stable=True).tolist()[:2] if t != pred]
        return (alt[0], "runner-up") if alt and score[alt[0]] > -torch.inf else (pred, "argmax")
    if j == 2:
        return int(rng.choice(kept)), "ordinary"
    if j == 3:
        return (int(rng.choice(masked)), "filtered") if masked else (int(rng.integers(0, len(score))), "ordinary")
    return int(spec["spikes"][-1][0]), "underflow"


def make_golden(path: str) -> None:
    rng = np.random.default_rng(99)
    plan = [
        (49152, [0.0, 0.6, 1.0, 1.5], [(-1, 1.0), (50, 1.0), (-1, 0.9), (40, 0.8), (1000, 0.95)], [42, 2**32 + 7]),
        (151936, [0.0, 0.8, 1.0], [(-1, 1.0), (20, 1.0), (-1, 0.95)], [0]),
    ]
    cases = []
    for n_vocab, temps, filters, seeds in plan:
        for temperature in temps:
            for top_k, top_p in filters:
                for seed in seeds:
                    specs = row_specs(n_vocab, rng, J)
                    logits = torch.from_numpy(np.stack([synthetic_logits(n_vocab, s) for s in specs]))
                    # First pass to learn what token-difr predicts, so that the claims cover each kind.
                    pred, *_, probs = verify(logits, [0] * J, temperature, top_k, top_p, seed)
                    if temperature > 0:  # the sampler's own order: probs / E, E the same rows it drew
                        e = torch.stack(torch_cpu.rows(seed, n_vocab, J))
                        score = torch.where(probs > 0, torch.log(probs) - torch.log(e), -torch.inf)
                    else:  # greedy: the logit order, the whole vocabulary open
                        score = logits.clone()
                    claimed, kinds = zip(*[choose_claimed(j, specs[j], int(pred[j]), score[j], rng) for j in range(J)])
                    pred, prob, margin, logit_rank, gumbel_rank, _ = verify(
                        logits, list(claimed), temperature, top_k, top_p, seed
                    )
                    rows = []
                    for j in range(J):
                        rows.append(
                            {
                                "logits": specs[j],
                                "claimed": claimed[j],
                                "kind": kinds[j],
                                "exact_match": bool(int(pred[j]) == claimed[j]),
                                "predicted": int(pred[j]),
                                "prob_bits": f32_bit(prob[j]),
                                "margin_bits": f32_bit(margin[j]),
                                "logit_rank": int(logit_rank[j]),
                                "gumbel_rank_bits": f32_bit(gumbel_rank[j]),
                            }
                        )
                    cases.append(
                        {
                            "n_vocab": n_vocab,
                            "temperature": temperature,
                            "top_k": top_k,
                            "top_p": top_p,
                            "seed": seed,
                            "rows": rows,
                        }
                    )
    write_golden(
        path, golden_meta("token-difr 0.1.2 per-token metrics (_get_probs, _verify_vllm_gumbel_max) on CPU"), cases
    )


def make_logprobs_golden(path: str) -> None:
    """The greedy top-k logprobs path (Fireworks / Tinker references): only the top k entries exist."""
    rng = np.random.default_rng(7)
    cases = []
    for n_vocab, k in [(49152, 5), (49152, 20), (151936, 20)]:
        specs = row_specs(n_vocab, rng, 4)
        sparse, claimed, kinds = [], [], []
        for j, spec in enumerate(specs):
            lp = torch.log_softmax(torch.from_numpy(synthetic_logits(n_vocab, spec)), dim=-1)
            top = torch.topk(lp, k)
            entries = [(int(t), float(v)) for t, v in zip(top.indices.tolist(), top.values.tolist())]
            sparse.append(entries)
            ids = [t for t, _ in entries]
            if j == 0:
                claimed.append(ids[0])
                kinds.append("argmax")
            elif j in (1, 2):
                claimed.append(ids[int(rng.integers(1, k))])
                kinds.append("in-top-k")
            else:
                outside = int(rng.integers(0, n_vocab))
                while outside in ids:
                    outside = int(rng.integers(0, n_vocab))
                claimed.append(outside)
                kinds.append("outside-top-k")
        dense = _sparse_logprobs_to_tensor(sparse, n_tokens=len(sparse), device=torch.device("cpu"), vocab_size=n_vocab)
        metrics = _compute_verification_metrics_from_logprobs(
            dense, claimed, temperature=0.0, top_k=k, top_p=1.0, seed=0, device=torch.device("cpu")
        )
        rows = []
        for j, m in enumerate(metrics):
            # The dense row is float32: the logprob bits below are what token-difr compared.
            rows.append(
                {
                    "top_ids": [t for t, _ in sparse[j]],
                    "top_logprob_bits": f32_bits([v for _, v in sparse[j]]),
                    "claimed": claimed[j],
                    "kind": kinds[j],
                    "exact_match": m.exact_match,
                    "prob_bits": f32_bit(m.prob),
                    "margin_bits": f32_bit(m.margin),
                    "logit_rank": int(m.logit_rank),
                    "gumbel_rank": int(m.gumbel_rank),
                }
            )
        cases.append({"n_vocab": n_vocab, "k": k, "rows": rows})
    write_golden(
        path,
        golden_meta(
            "token-difr 0.1.2 greedy metrics from top-k logprobs (_compute_verification_metrics_from_logprobs)"
        ),
        cases,
    )
