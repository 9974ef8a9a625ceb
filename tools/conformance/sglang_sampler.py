"""Goldens for difr's `sglang` profile, from SGLang's own sampler code on CPU torch.

SGLang's wheel is downloaded from PyPI without its dependencies (wheels.py). Two of its modules are used:
- sglang/kernels/ops/sampling/murmur_hash.py, imported as is. Its murmur_hash32() sends CPU tensors to
  sgl_kernel's C++ op (not installable here), so its Triton kernel murmur_hash32_kernel, which is what runs on
  a GPU, is launched directly under TRITON_INTERPRET=1.
- sglang/srt/layers/sampler.py: its other imports pull in the whole server, so only multinomial_with_seed,
  sampling_from_probs_torch and top_k_top_p_min_p_sampling_from_probs_torch are compiled from it (with their
  decorators; TORCHDYNAMO_DISABLE=1 makes @torch.compile run them eagerly, see make_goldens.py).
What the Sampler does around them in deterministic mode (divide by T, torch.softmax) is two torch calls here.
"""

from __future__ import annotations

import os
import types

import numpy as np
import torch
import triton

import wheels
import vllm_gumbel  # noqa: F401  (sets TRITON_INTERPRET before triton is used, and the shared cases)
from goldens import f64_bits, golden_meta, synthetic_logits, write_golden

SGLANG = "0.5.23"
TOP_K_ALL = 1 << 30  # sglang.srt.sampling.sampling_params: top_k = -1 (off) becomes this
_mods: dict[str, object] = {}


def murmur_module():
    if "murmur" not in _mods:
        path = wheels.extract(wheels.wheel("sglang", SGLANG), "sglang/kernels/ops/sampling/murmur_hash.py")
        _mods["murmur"] = wheels.load_module(path, "sglang_murmur_hash")
    return _mods["murmur"]


def murmur_hash32_gpu_path(seed: torch.Tensor, positions: torch.Tensor, col_indices: torch.Tensor) -> torch.Tensor:
    """Launches SGLang's murmur_hash32_kernel as its murmur_hash32() does for a CUDA tensor."""
    n, m = seed.shape[0], col_indices.shape[0]
    hashed = torch.empty((n, m), dtype=torch.uint32)
    murmur_module().murmur_hash32_kernel[(n, triton.cdiv(m, 1024))](
        seed, positions, col_indices, hashed, n, m, BLOCK_SIZE=1024
    )
    return hashed


class _ArgmaxRecorder(types.ModuleType):
    """torch, except that argmax remembers its input: multinomial_with_seed's x = G + logprobs."""

    def __init__(self):
        super().__init__("torch")
        self.last = None

    def __getattr__(self, name):
        return getattr(torch, name)

    def argmax(self, x, *args, **kwargs):
        self.last = x.clone()
        return torch.argmax(x, *args, **kwargs)


_recorder = _ArgmaxRecorder()


def sampler_module():
    if "sampler" not in _mods:
        _mods["sampler"] = wheels.load_functions(
            wheels.wheel("sglang", SGLANG),
            "sglang/srt/layers/sampler.py",
            ["multinomial_with_seed", "sampling_from_probs_torch", "top_k_top_p_min_p_sampling_from_probs_torch"],
            "sglang_sampler",
            {"torch": _recorder, "murmur_hash32": murmur_hash32_gpu_path, "is_npu": lambda: False,
             "Optional": __import__("typing").Optional},
        )
    return _mods["sampler"]


def _seeds(values: list[int]) -> torch.Tensor:
    """sampling_seed is an int64 tensor (SamplingBatchInfo); seeds >= 2^63 wrap to their bits."""
    return torch.tensor([x - (1 << 64) if x >= 1 << 63 else x for x in values], dtype=torch.int64)


def noise(seeds: list[int], positions: list[int], cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(hash, G) for rows (seed, pos) x columns: multinomial_with_seed on zero logprobs, whose argmax input
    is then G itself. Columns are per row, so each row is one call."""
    hashes, gs = [], []
    for s, p, c in zip(seeds, positions, cols):
        col = torch.from_numpy(np.asarray(c, dtype=np.int64))
        seed, pos = _seeds([s]), torch.tensor([p], dtype=torch.int64)
        hashes.append(murmur_hash32_gpu_path(seed.to(torch.uint64), pos, col).to(torch.int64).numpy()[0])
        # multinomial_with_seed hashes arange(m); to read chosen columns, ask for a row as wide as the largest
        # and keep those columns.
        width = int(col.max()) + 1
        sampler_module().multinomial_with_seed(torch.zeros(1, width, dtype=torch.float64), seed, pos)
        gs.append(_recorder.last.numpy()[0][col.numpy()])
    return np.stack(hashes), np.stack(gs)


def make_noise_golden(path: str, n_tokens: int = 48) -> None:
    rng = np.random.default_rng(20261202)
    pairs = vllm_gumbel.NOISE_PAIRS
    fixed = [0, 1, 2, 3, 7, 1023, 1024, 49151]
    cols = np.stack([np.concatenate([fixed, rng.choice(49152, n_tokens - len(fixed), replace=False)]) for _ in pairs])
    h, g = noise([s for s, _ in pairs], [p for _, p in pairs], cols)
    cases = [
        {"seed": s, "pos": p, "tokens": cols[i].tolist(), "hash": h[i].tolist(), "g64_bits": f64_bits(g[i])}
        for i, (s, p) in enumerate(pairs)
    ]
    # Edge hashes 0 and 2^32 - 1 (the clamp): columns solved for with the hash's inverse; the second is
    # SGLang issue #25106's vector. Their columns are huge, so G is read by hand-built rows below.
    edges = []
    for s, p, c in vllm_gumbel.murmur3_edges():
        seed, pos = _seeds([s]), torch.tensor([p], dtype=torch.int64)
        hh = int(murmur_hash32_gpu_path(seed.to(torch.uint64), pos, torch.tensor([c], dtype=torch.int64))[0, 0])
        if c < 1 << 21:
            hs, gs = noise([s], [p], np.array([[c]]))
            g_edge = gs[0][0]
        else:
            g_edge = None  # too wide a row for multinomial_with_seed; the C++ test checks the formula's ends
        edges.append({"seed": s, "pos": p, "column": c, "hash": hh,
                      "g64_bits": None if g_edge is None else f64_bits(g_edge)[0]})
    write_golden(path, golden_meta(f"SGLang {SGLANG} murmur_hash32_kernel hashes and multinomial_with_seed noise "
                                   "G (fp64) on CPU torch", sglang=[SGLANG]), cases, edges=edges)


def sglang_sample(logits: torch.Tensor, temps, seeds, positions, top_k=None, top_p=None) -> list[int]:
    """Sampler.forward's standard path in deterministic mode for one batch."""
    mod = sampler_module()
    x = logits.clone()
    x.div_(torch.tensor(temps, dtype=torch.float32).view(-1, 1))
    probs = torch.softmax(x, dim=-1)
    seed, pos = _seeds(seeds), torch.tensor(positions, dtype=torch.int64)
    n = x.shape[0]
    if top_k is None and top_p is None:
        return mod.sampling_from_probs_torch(probs, sampling_seed=seed, positions=pos).tolist()
    ks = torch.tensor([top_k or TOP_K_ALL] * n, dtype=torch.int32)
    ps = torch.tensor([top_p or 1.0] * n, dtype=torch.float32)
    out = mod.top_k_top_p_min_p_sampling_from_probs_torch(
        probs, ks, ps, torch.zeros(n), False, seed, pos, max_top_k=top_k
    )
    return out.tolist()


def make_sample_golden(path: str) -> None:
    rng = np.random.default_rng(779)
    cases = []
    for n_vocab, combos, specs, logits, top_k, top_p in vllm_gumbel._plan_cases(rng, vllm_gumbel.ENGINE_PLAN):
        if 0.0 in {c[0] for c in combos}:
            keep = [i for i, c in enumerate(combos) if c[0] != 0.0]  # SGLang turns T = 0 into greedy top_k = 1
            combos, specs, logits = [combos[i] for i in keep], [specs[i] for i in keep], logits[keep]
        sampled = sglang_sample(logits, [c[0] for c in combos], [c[1] for c in combos], [c[2] for c in combos],
                                top_k, top_p)
        for (t, s, p), sp, tok in zip(combos, specs, sampled):
            cases.append({"n_vocab": n_vocab, "logits": sp, "temperature": t, "top_k": top_k or 0,
                          "top_p": top_p or 1.0, "seed": s, "pos": p, "sampled": tok})
    write_golden(path, golden_meta(f"SGLang {SGLANG} deterministic sampler (sampling_from_probs_torch, "
                                   "top_k_top_p_min_p_sampling_from_probs_torch) on CPU torch", sglang=[SGLANG]),
                 cases)
