"""Writes difr's conformance goldens with the original implementations (see run.sh, which sets up the venv).

Usage: python make_goldens.py --out tests/data/conformance [--only vllm-noise,vllm-sample,...]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

# SGLang wraps multinomial_with_seed in @torch.compile; on a GPU inductor turns it into a Triton kernel, here it
# runs eagerly (the same torch operations in double; libm differences in G are what the tests allow for).
os.environ["TORCHDYNAMO_DISABLE"] = "1"

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# isort: off
import vllm_gumbel  # noqa: E402  (first: it sets TRITON_INTERPRET before anything imports triton)
import sglang_sampler  # noqa: E402
import token_difr_metrics  # noqa: E402
import torch_cpu  # noqa: E402
# isort: on

GOLDENS = {
    "vllm-noise": lambda out: vllm_gumbel.make_noise_golden(os.path.join(out, "vllm_noise.json")),
    "vllm-sample": lambda out: vllm_gumbel.make_sample_golden(os.path.join(out, "vllm_sample.json")),
    "vllm-murmur3-noise": lambda out: vllm_gumbel.make_murmur3_golden(os.path.join(out, "vllm_murmur3_noise.json")),
    "vllm-murmur3-sample": lambda out: vllm_gumbel.make_murmur3_sample_golden(
        os.path.join(out, "vllm_murmur3_sample.json")
    ),
    "sglang-noise": lambda out: sglang_sampler.make_noise_golden(os.path.join(out, "sglang_noise.json")),
    "sglang-sample": lambda out: sglang_sampler.make_sample_golden(os.path.join(out, "sglang_sample.json")),
    "torch-cpu": lambda out: torch_cpu.make_golden(os.path.join(out, "torch_cpu_noise.json")),
    "token-difr": lambda out: (
        token_difr_metrics.make_golden(os.path.join(out, "token_difr_metrics.json")),
        token_difr_metrics.make_logprobs_golden(os.path.join(out, "token_difr_logprobs.json")),
    ),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="folder for the golden JSON files")
    ap.add_argument("--only", default=",".join(GOLDENS), help="comma-separated subset of " + ", ".join(GOLDENS))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name in args.only.split(","):
        if name not in GOLDENS:
            sys.exit(f"unknown golden '{name}': choose from {', '.join(GOLDENS)}")
        t0 = time.time()
        GOLDENS[name](args.out)
        print(f"{name}: {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
