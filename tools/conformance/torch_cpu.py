"""Goldens for the `torch-cpu` noise profile: torch.Generator().manual_seed(seed), then exponential_ row by row.

This is the exact draw sequence of token-difr's _verify_vllm_gumbel_max on the CPU: one generator seeded once
per sequence, one float32 row of V values per output position, G = -log(E) (its _exponential_to_gumbel).
"""

from __future__ import annotations

import numpy as np
import torch

from goldens import f32_bits, fnv1a64, golden_meta, write_golden

SEEDS = [0, 1, 42, 2**32 + 42, 123456789, 2**63 + 5]  # 2^32 + 42: torch keeps only the low 32 bits
VOCABS = [49152, 151936]
ROWS = 3


def rows(seed: int, n_vocab: int, n_rows: int) -> list[torch.Tensor]:
    generator = torch.Generator(device="cpu")
    generator.manual_seed(seed)
    out = []
    for _ in range(n_rows):
        e = torch.empty(n_vocab, dtype=torch.float32)
        e.exponential_(generator=generator)
        out.append(e)
    return out


def make_golden(path: str) -> None:
    rng = np.random.default_rng(4242)
    cases = []
    for n_vocab in VOCABS:
        for seed in SEEDS:
            for j, e in enumerate(rows(seed, n_vocab, ROWS)):
                g = -torch.log(e.clamp(min=0))  # token_difr.common._exponential_to_gumbel(e, epsilon=0)
                sel = np.concatenate(
                    [np.arange(8), np.arange(n_vocab - 8, n_vocab), np.sort(rng.choice(n_vocab, 48, replace=False))]
                )
                en, gn = e.numpy(), g.numpy()
                cases.append(
                    {
                        "seed": seed,
                        "n_vocab": n_vocab,
                        "row": j,
                        "e_fnv1a64": fnv1a64(en.view(np.uint32)),
                        "tokens": sel.tolist(),
                        "e_bits": f32_bits(en[sel]),
                        "g_bits": f32_bits(gn[sel]),
                    }
                )
    write_golden(
        path, golden_meta("torch CPU Generator exponential_ rows (float32) and token-difr's G = -log(E)"), cases
    )
