"""Goldens for the `vllm` and `vllm-0.22` noise profiles, from vLLM's Gumbel sampler run by Triton's interpreter.

vLLM is a GPU package and is not installed here; the kernel lines below are copied from
vllm/v1/worker/gpu/sample/gumbel.py (vLLM 0.33.0, `gumbel_noised_argmax` and `_gumbel_sample_kernel`, the
fp32 path) and run under TRITON_INTERPRET=1, which executes Triton's own randint/rand on the CPU with numpy.

One substitution: vLLM calls libdevice's log1p, which the interpreter cannot run (it is a stub there), so
`tldevice.log1p` is numpy's float32 log1p here. On a GPU both log and log1p are CUDA's approximations, so G
is only reproducible to an ulp or so anywhere; u, the key and the sampled tokens are what must match.
"""

from __future__ import annotations

import os

os.environ["TRITON_INTERPRET"] = "1"  # before triton is imported

import numpy as np
import torch
import triton
import triton.language as tl
from triton.language.extra import libdevice as tldevice
from triton.runtime.interpreter import TensorHandle

from common import f32_bits, fnv1a64, golden_meta, synthetic_logits, write_golden


def _interpreter_log1p(x):
    return tl.tensor(TensorHandle(np.log1p(x.handle.data), x.handle.dtype.scalar), x.type)


tldevice.log1p = _interpreter_log1p

# ---- copied from vllm/v1/worker/gpu/sample/gumbel.py (0.30.0) ------------------------------------------------
_TL_RAND_MIN = tl.constexpr(4.6566127342e-10)
_FP32_TINY = tl.constexpr(float.fromhex("0x1p-126"))  # vLLM 0.22.0-0.23.0's clamp, for the old form


@triton.jit
def tl_rand32(seed, offset, includes_zero: tl.constexpr):
    u = tl.rand(seed, offset)
    if not includes_zero:
        u = tl.maximum(u, _TL_RAND_MIN)
    return u


@triton.jit
def gumbel_noised_argmax(logits, keys, mask, seed, pos, temp, APPLY_TEMPERATURE: tl.constexpr = True):
    # IS_DRAFTING=False, USE_FP64=False: the branches not taken are left out.
    if temp != 0.0 and APPLY_TEMPERATURE:
        logits = logits / temp
    if temp != 0.0:
        gumbel_seed = tl.randint(seed, pos)
        u = tl_rand32(gumbel_seed, keys, includes_zero=False)
        # log1p keeps the winning tail at u -> 0, where fp32 resolves it.
        gumbel_noise = -tl.log(-tldevice.log1p(-u))
        logits = tl.where(mask, logits + gumbel_noise, float("-inf"))
    return tl.max(logits, axis=0, return_indices=True)


@triton.jit
def _gumbel_sample_kernel(
    local_argmax_ptr,
    local_argmax_stride,
    local_max_ptr,
    local_max_stride,
    logits_ptr,
    logits_stride,
    seeds_ptr,
    pos_ptr,
    temp_ptr,
    vocab_size,
    BLOCK_SIZE: tl.constexpr,
):
    # As vLLM's kernel with one request per row (expanded_idx_mapping = identity) and no logits cache.
    token_idx = tl.program_id(0).to(tl.int64)
    block_idx = tl.program_id(1)
    block = block_idx * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = block < vocab_size
    logits = tl.load(logits_ptr + token_idx * logits_stride + block, mask=mask, other=float("-inf"))
    logits = logits.to(tl.float32)
    temp = tl.load(temp_ptr + token_idx).to(tl.float32)
    seed = tl.load(seeds_ptr + token_idx)
    pos = tl.load(pos_ptr + token_idx)
    value, idx = gumbel_noised_argmax(logits, block, mask, seed, pos, temp)
    token_id = block_idx * BLOCK_SIZE + idx
    tl.store(local_argmax_ptr + token_idx * local_argmax_stride + block_idx, token_id)
    tl.store(local_max_ptr + token_idx * local_max_stride + block_idx, value)


def gumbel_sample(logits, temperature, seed, pos):
    num_tokens, vocab_size = logits.shape
    BLOCK_SIZE = 1024
    num_blocks = triton.cdiv(vocab_size, BLOCK_SIZE)
    local_argmax = logits.new_empty(num_tokens, num_blocks, dtype=torch.int64)
    local_max = logits.new_empty(num_tokens, num_blocks, dtype=torch.float32)
    _gumbel_sample_kernel[(num_tokens, num_blocks)](
        local_argmax,
        local_argmax.stride(0),
        local_max,
        local_max.stride(0),
        logits,
        logits.stride(0),
        seed,
        pos,
        temperature,
        vocab_size,
        BLOCK_SIZE=BLOCK_SIZE,
    )
    max_block_idx = local_max.argmax(dim=-1, keepdim=True)
    return local_argmax.gather(dim=-1, index=max_block_idx).view(-1)


# ---- the noise itself, with the same lines, for u and G per token ----------------------------------------------
@triton.jit
def _noise_kernel(
    key_ptr,
    u_ptr,
    g_ptr,
    g_old_ptr,
    seeds_ptr,
    pos_ptr,
    tokens_ptr,
    n_tokens,
    BLOCK: tl.constexpr,
    DIRECT_KEY: tl.constexpr,
):
    row = tl.program_id(0).to(tl.int64)
    offs = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n_tokens
    keys = tl.load(tokens_ptr + row * n_tokens + offs, mask=mask, other=0)  # int32, like vLLM's `block`
    seed = tl.load(seeds_ptr + row)  # int64
    pos = tl.load(pos_ptr + row)  # int64
    if DIRECT_KEY:  # edge cases: a key chosen to hit a given raw Philox word
        gumbel_seed = seed
    else:
        gumbel_seed = tl.randint(seed, pos)
    # 0.24.0-0.30.0 (difr's vllm profile):
    u = tl_rand32(gumbel_seed, keys, includes_zero=False)
    gumbel_noise = -tl.log(-tldevice.log1p(-u))
    # 0.22.0-0.23.0 (difr's vllm-0.22 profile):
    u_old = tl.rand(gumbel_seed, keys)
    u_old = tl.maximum(u_old, _FP32_TINY)
    gumbel_noise_old = -tl.log(-tl.log(u_old))
    tl.store(key_ptr + row, gumbel_seed.to(tl.int64))
    tl.store(u_ptr + row * n_tokens + offs, u, mask=mask)
    tl.store(g_ptr + row * n_tokens + offs, gumbel_noise, mask=mask)
    tl.store(g_old_ptr + row * n_tokens + offs, gumbel_noise_old, mask=mask)


def _as_i64(values: list[int]) -> torch.Tensor:
    """vLLM keeps seeds and positions in int64 tensors; seeds >= 2^63 wrap, as they do there."""
    return torch.tensor([x - (1 << 64) if x >= 1 << 63 else x for x in values], dtype=torch.int64)


def noise(seeds: list[int], positions: list[int], tokens: np.ndarray, direct_key: bool = False):
    """key, u, G, G_old for rows (seed, pos) x tokens ([rows, n] int32)."""
    rows, n = tokens.shape
    key = torch.zeros(rows, dtype=torch.int64)
    u, g, g_old = (torch.zeros(rows, n, dtype=torch.float32) for _ in range(3))
    block = 1024
    _noise_kernel[(rows, triton.cdiv(n, block))](
        key,
        u,
        g,
        g_old,
        _as_i64(seeds),
        _as_i64(positions),
        torch.from_numpy(tokens.astype(np.int32)),
        n,
        BLOCK=block,
        DIRECT_KEY=direct_key,
    )
    return key.numpy().astype(np.uint64), u.numpy(), g.numpy(), g_old.numpy()


V_SMALL, V_LARGE = 49152, 151936  # SmolLM2 / Qwen2.5-style vocabularies

NOISE_PAIRS = [  # (seed, position): seeds and positions past 2^32 exercise the high Philox words
    (0, 0),
    (1, 1),
    (42, 17),
    (42, 4095),
    (2**32 - 1, 17),
    (2**32 + 7, 17),
    (2**32 + 7, 2**32 + 5),
    (0x0123456789ABCDEF, 2**40 + 3),
    (2**63 - 1, 2**31 - 1),
    (0, 2**32 + 5),
    (42, 2**31 - 1),
    (12345, 300),
]
FIXED_TOKENS = [0, 1, 2, 3, 7, 8, 1023, 1024, 8191, 8192, V_SMALL - 1, 65535, 65536, V_LARGE - 1]
FULL_ROW_PAIRS = [(0, 0), (42, 17), (2**32 + 7, 2**32 + 5), (0x0123456789ABCDEF, 2**40 + 3)]


def make_noise_golden(path: str, n_tokens: int = 128) -> None:
    rng = np.random.default_rng(20250601)
    tokens = np.stack(
        [
            np.concatenate([FIXED_TOKENS, rng.choice(V_LARGE, n_tokens - len(FIXED_TOKENS), replace=False)])
            for _ in NOISE_PAIRS
        ]
    ).astype(np.int32)
    key, u, g, g_old = noise([s for s, _ in NOISE_PAIRS], [p for _, p in NOISE_PAIRS], tokens)
    cases = []
    for i, (s, p) in enumerate(NOISE_PAIRS):
        cases.append(
            {
                "seed": s,
                "pos": p,
                "key": int(key[i]),
                "tokens": tokens[i].tolist(),
                "u_bits": f32_bits(u[i]),
                "g_bits": f32_bits(g[i]),
                "g_old_bits": f32_bits(g_old[i]),
            }
        )
    # Whole rows: u of every token of the vocabulary, as a hash (u has no libm in it and must be exact).
    full = np.tile(np.arange(V_LARGE, dtype=np.int32), (len(FULL_ROW_PAIRS), 1))
    _, fu, _, _ = noise([s for s, _ in FULL_ROW_PAIRS], [p for _, p in FULL_ROW_PAIRS], full)
    rows = [
        {
            "seed": s,
            "pos": p,
            "n_vocab": V_LARGE,
            "u_fnv1a64": fnv1a64(fu[i].view(np.uint32)),
            "u_fnv1a64_first_49152": fnv1a64(fu[i][:V_SMALL].view(np.uint32)),
        }
        for i, (s, p) in enumerate(FULL_ROW_PAIRS)
    ]
    # Keys that make token 0's raw Philox word hit the edges of uint_to_uniform_float and of the clamps.
    edge_keys = [0x6D7E45B7, 0x2D52B090, 0x5099A7E8, 0x409CB13, 0xCA206C45, 0x1E11D6AAC]
    ek, eu, eg, eg_old = noise(edge_keys, [0] * len(edge_keys), np.zeros((len(edge_keys), 1), np.int32), True)
    edges = [
        {
            "key": int(ek[i]),
            "token": 0,
            "u_bits": f32_bits(eu[i])[0],
            "g_bits": f32_bits(eg[i])[0],
            "g_old_bits": f32_bits(eg_old[i])[0],
        }
        for i in range(len(edge_keys))
    ]
    write_golden(
        path,
        golden_meta("vLLM gumbel_noised_argmax noise (key, u, G) via Triton's interpreter"),
        cases,
        full_rows=rows,
        edges=edges,
    )


def sample_row_specs(n_vocab: int, count: int, rng: np.random.Generator) -> list[dict]:
    specs = []
    for r in range(count):
        spikes = rng.choice(n_vocab, 12, replace=False)
        # Heads of different heights, in steps of 1/8 so that JSON carries them exactly.
        vals = np.round(rng.uniform(2.0, 9.0, len(spikes)) * 8) / 8
        specs.append(
            {
                "seed": int(rng.integers(0, 2**63)),
                "scale_log2": int(rng.choice([1, 2, 3])),
                "spikes": [[int(t), float(v)] for t, v in zip(spikes, vals)],
            }
        )
    return specs


def make_sample_golden(path: str) -> None:
    rng = np.random.default_rng(777)
    cases = []
    plan = [
        (V_SMALL, [0.0, 0.5, 1.0, 1.7], [0, 42, 2**32 + 7, 0x0123456789ABCDEF], [5, 1000, 2**32 + 1]),
        (V_LARGE, [0.7, 1.0], [3, 2**40 + 1], [77, 2**33]),
    ]
    for n_vocab, temps, seeds, positions in plan:
        combos = [(t, s, p) for t in temps for s in seeds for p in positions]
        specs = sample_row_specs(n_vocab, len(combos), rng)
        logits = torch.from_numpy(np.stack([synthetic_logits(n_vocab, sp) for sp in specs]))
        sampled = gumbel_sample(
            logits,
            torch.tensor([c[0] for c in combos], dtype=torch.float32),
            _as_i64([c[1] for c in combos]),
            _as_i64([c[2] for c in combos]),
        )
        for (t, s, p), sp, tok in zip(combos, specs, sampled.tolist()):
            cases.append({"n_vocab": n_vocab, "logits": sp, "temperature": t, "seed": s, "pos": p, "sampled": tok})
    write_golden(path, golden_meta("vLLM _gumbel_sample_kernel sampled tokens via Triton's interpreter"), cases)
