"""token_metrics (difr's core) against token-difr 0.1.2's metric code on CPU torch: same logits, same cores.

token-difr's side is what token_difr.local.verify_outputs runs after vLLM has returned a sequence's logits
(_get_probs, the logit ranks, _verify_vllm_gumbel_max), called as tools/conformance/token_difr_metrics.py
calls it. difr's side is difr_llm.token_metrics on the same NumPy array, with the torch-cpu noise profile
(token-difr's own CPU generator, so the results must be identical) and with the default vllm profile. The
runs alternate, and each figure is the median of the repetitions. Run through bench/python_metrics.sh.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np
import torch

import difr_llm
from token_difr_metrics import verify as token_difr_verify  # tools/conformance: token-difr's call sequence


def logits_like_a_model(rows: int, vocab: int, seed: int) -> np.ndarray:
    """A heavy-tailed row with a head of likely tokens, as next-token logits have."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, vocab), dtype=np.float32) * 1.5
    head = rng.integers(0, vocab, (rows, 40))
    x[np.arange(rows)[:, None], head] += rng.uniform(4, 12, (rows, 40)).astype(np.float32)
    return x


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=64, help="claimed tokens (rows of logits) per call")
    ap.add_argument("--vocab", type=int, default=151936)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    logits = logits_like_a_model(args.rows, args.vocab, 1)
    tensor = torch.from_numpy(logits)
    rng = np.random.default_rng(2)
    # Claims of every kind: the argmax, a likely token, anything.
    claimed = np.where(rng.random(args.rows) < 0.5, logits.argmax(axis=1), rng.integers(0, args.vocab, args.rows))
    print(f"# {args.rows} rows x V = {args.vocab}, float32; torch {torch.__version__} with {args.threads} threads; "
          f"difr_llm single-threaded; {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print("| setting | token-difr 0.1.2 (torch CPU) | difr torch-cpu | speed-up | difr vllm | speed-up | identical |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for name, s in (("T = 1, top-k 50, top-p 0.95", dict(temperature=1.0, top_k=50, top_p=0.95, seed=42)),
                    ("T = 0 (top-k 50, top-p 0.95)", dict(temperature=0.0, top_k=50, top_p=0.95, seed=42))):
        times = {"token-difr": [], "torch-cpu": [], "vllm": []}
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            pred, prob, margin, logit_rank, gumbel_rank, _ = token_difr_verify(
                tensor, claimed.tolist(), s["temperature"], s["top_k"], s["top_p"], s["seed"])
            exact = (pred.numpy() == claimed)
            t1 = time.perf_counter()
            ours = difr_llm.token_metrics(logits, claimed, **s, noise="torch-cpu")
            t2 = time.perf_counter()
            difr_llm.token_metrics(logits, claimed, **s, noise="vllm")
            t3 = time.perf_counter()
            times["token-difr"].append(t1 - t0)
            times["torch-cpu"].append(t2 - t1)
            times["vllm"].append(t3 - t2)
        same = np.array_equal(exact, ours.exact_match) and np.array_equal(logit_rank.numpy(), ours.logit_rank)
        if s["temperature"] > 0:
            same = same and np.array_equal(pred.numpy(), ours.predicted) and \
                np.array_equal(margin.numpy(), ours.margin) and np.array_equal(gumbel_rank.numpy(), ours.gumbel_rank)
        m = {k: statistics.median(v) * 1000 / args.rows for k, v in times.items()}
        print(f"| {name} | {m['token-difr']:.3f} ms/row | {m['torch-cpu']:.3f} ms/row | "
              f"{m['token-difr'] / m['torch-cpu']:.1f}x | {m['vllm']:.3f} ms/row | {m['token-difr'] / m['vllm']:.1f}x | "
              f"{'yes' if same else 'NO'} |")


if __name__ == "__main__":
    main()
