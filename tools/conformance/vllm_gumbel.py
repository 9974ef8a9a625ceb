"""Goldens for difr's vLLM noise profiles, from vLLM's own gumbel.py run by Triton's interpreter.

vLLM is a GPU package, so it is not installed: each release's wheel is downloaded from PyPI (wheels.py) and its
vllm/v1/worker/gpu/sample/gumbel.py is imported with a stand-in for `vllm.triton_utils` (Triton itself) and run
under TRITON_INTERPRET=1, which executes Triton's randint/rand and vLLM's murmur3 kernels on the CPU with numpy.
The small kernels below only load inputs and call vLLM's functions (murmur3_hash32, murmur3_uniform32/64,
tl_rand32/64, gumbel_noised_argmax, gumbel_block_argmax); the sampled tokens come from vLLM's own
gumbel_sample() and, for top-k/top-p, its apply_top_k_top_p_pytorch.

Releases: 0.22.0 (vllm-0.22), 0.30.0 (vllm-0.30 and vllm-0.30-fp64) and 0.31.0, 0.32.0, 0.33.0 (vllm and
vllm-fp64; the three must give identical goldens, which make_goldens checks, and 0.33.0's are written).

One substitution: 0.22-0.30 call libdevice's log1p, which the interpreter cannot run (a stub there), so the
stand-in's libdevice.log1p is numpy's float32 log1p. On a GPU both log and log1p are CUDA's approximations, so
G is only reproducible to an ulp or so anywhere; hashes, words, u and the sampled tokens are what must match.
"""

from __future__ import annotations

import contextlib
import os

os.environ["TRITON_INTERPRET"] = "1"  # before triton is imported

import numpy as np
import torch
import triton
import triton.language as tl
from triton.language.extra import libdevice
from triton.runtime.interpreter import TensorHandle

import wheels
from goldens import f32_bits, f64_bits, fnv1a64, golden_meta, synthetic_logits, write_golden


def _interpreter_log1p(x):
    return tl.tensor(TensorHandle(np.log1p(x.handle.data), x.handle.dtype.scalar), x.type)


_LIBDEVICE = type("libdevice", (), {"log1p": staticmethod(_interpreter_log1p)})
wheels.stand_in("vllm.triton_utils", HAS_TRITON=True, tl=tl, triton=triton, tldevice=_LIBDEVICE)

PHILOX_ERA = "0.30.0"
MURMUR3_RELEASES = ["0.31.0", "0.32.0", "0.33.0"]
OLD_LOG_FORM = "0.22.0"
_modules: dict[str, object] = {}


def gumbel_module(version: str):
    """vLLM `version`'s gumbel.py, imported from its wheel."""
    if version not in _modules:
        path = wheels.extract(wheels.wheel("vllm", version), "vllm/v1/worker/gpu/sample/gumbel.py")
        _modules[version] = wheels.load_module(path, "vllm_gumbel_" + version.replace(".", "_"))
    return _modules[version]


def filter_module(version: str):
    """apply_top_k_top_p_pytorch (and apply_top_k_only) of vLLM `version`'s topk_topp_sampler.py."""
    key = "filter-" + version
    if key not in _modules:
        _modules[key] = wheels.load_functions(
            wheels.wheel("vllm", version),
            "vllm/v1/sample/ops/topk_topp_sampler.py",
            ["apply_top_k_top_p_pytorch", "apply_top_k_only"],
            "vllm_topk_topp_" + version.replace(".", "_"),
            {"torch": torch},
        )
    return _modules[key]


# The kernels read these at call time (the interpreter runs them as Python): the gumbel.py under test.
G = None


@contextlib.contextmanager
def release(version: str):
    global G
    G = gumbel_module(version)
    try:
        yield G
    finally:
        G = None


@contextlib.contextmanager
def direct_keys():
    """tl.randint(seed, pos) -> seed: feeds chosen Philox keys to vLLM's code for the edge cases."""
    saved = tl.randint
    tl.randint = lambda seed, offset, n_rounds=10: seed
    try:
        yield
    finally:
        tl.randint = saved


# ---- wrapper kernels: load inputs, call vLLM's functions, store what they return -------------------------------
@triton.jit
def _murmur3_kernel(h_ptr, h_hi_ptr, u_ptr, u64_ptr, seeds_ptr, pos_ptr, cols_ptr, n, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    offs = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    cols = tl.load(cols_ptr + row * n + offs, mask=mask, other=0)  # int32, as vLLM's `block`
    seed = tl.load(seeds_ptr + row)
    pos = tl.load(pos_ptr + row)
    h = G.murmur3_hash32(seed, pos, cols)
    h_hi = G.murmur3_hash32(seed, pos, cols, domain=0x9E3779B9)
    tl.store(h_ptr + row * n + offs, h.to(tl.int64), mask=mask)
    tl.store(h_hi_ptr + row * n + offs, h_hi.to(tl.int64), mask=mask)
    tl.store(u_ptr + row * n + offs, G.murmur3_uniform32(seed, pos, cols), mask=mask)
    tl.store(u64_ptr + row * n + offs, G.murmur3_uniform64(seed, pos, cols), mask=mask)


@triton.jit
def _philox_kernel(key_ptr, u_ptr, u64_ptr, seeds_ptr, pos_ptr, cols_ptr, n, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    offs = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    cols = tl.load(cols_ptr + row * n + offs, mask=mask, other=0)
    seed = tl.load(seeds_ptr + row)
    pos = tl.load(pos_ptr + row)
    key = tl.randint(seed, pos)  # gumbel_noised_argmax's gumbel_seed
    tl.store(key_ptr + row, key.to(tl.int64))
    tl.store(u_ptr + row * n + offs, G.tl_rand32(key, cols, includes_zero=False), mask=mask)
    tl.store(u64_ptr + row * n + offs, G.tl_rand64(key, cols, includes_zero=False), mask=mask)


@triton.jit
def _gumbel_kernel(g_ptr, seeds_ptr, pos_ptr, cols_ptr, n, USE_FP64: tl.constexpr):
    # One token per program: a two-slot block whose second slot is masked off, logits 0, so that
    # gumbel_noised_argmax's maximum is that token's noise.
    row = tl.program_id(0).to(tl.int64)
    j = tl.program_id(1)
    two = tl.arange(0, 2)
    col = tl.load(cols_ptr + row * n + j + two * 0)
    seed = tl.load(seeds_ptr + row)
    pos = tl.load(pos_ptr + row)
    zeros = tl.zeros([2], dtype=tl.float32)
    value, _ = G.gumbel_noised_argmax(zeros, col, two == 0, seed, pos, 1.0, IS_DRAFTING=False, USE_FP64=USE_FP64,
                                      APPLY_TEMPERATURE=False)
    tl.store(g_ptr + row * n + j, value)


@triton.jit
def _gumbel_old_kernel(g_ptr, seeds_ptr, pos_ptr, cols_ptr, temp_ptr, idx_ptr, n):
    # 0.22-0.23 have no gumbel_noised_argmax; their noise lives in gumbel_block_argmax, which loads the seed,
    # position and temperature of request `row` itself.
    row = tl.program_id(0).to(tl.int64)
    j = tl.program_id(1)
    two = tl.arange(0, 2)
    col = tl.load(cols_ptr + row * n + j + two * 0)
    zeros = tl.zeros([2], dtype=tl.float32)
    value, _ = G.gumbel_block_argmax(zeros, col, two == 0, row, idx_ptr, temp_ptr, seeds_ptr, pos_ptr, None, 0, None,
                                     n, APPLY_TEMPERATURE=False, USE_FP64=False)
    tl.store(g_ptr + row * n + j, value)


def _as_i64(values: list[int]) -> torch.Tensor:
    """vLLM keeps seeds and positions in int64 tensors; seeds >= 2^63 wrap, as they do there."""
    return torch.tensor([x - (1 << 64) if x >= 1 << 63 else x for x in values], dtype=torch.int64)


def _cols(tokens: np.ndarray) -> torch.Tensor:
    """Token ids as int32 (vLLM's block offsets); columns >= 2^31 wrap as their bits."""
    return torch.from_numpy(tokens.astype(np.int64).astype(np.uint32).view(np.int32).copy())


def murmur3_noise(version: str, seeds, positions, tokens: np.ndarray) -> dict:
    rows, n = tokens.shape
    h, h_hi = (torch.zeros(rows, n, dtype=torch.int64) for _ in range(2))
    u = torch.zeros(rows, n, dtype=torch.float32)
    u64 = torch.zeros(rows, n, dtype=torch.float64)
    g, g64 = torch.zeros(rows, n, dtype=torch.float32), torch.zeros(rows, n, dtype=torch.float64)
    s, p, c = _as_i64(seeds), _as_i64(positions), _cols(tokens)
    with release(version):
        _murmur3_kernel[(rows, triton.cdiv(n, 1024))](h, h_hi, u, u64, s, p, c, n, BLOCK=1024)
        _gumbel_kernel[(rows, n)](g, s, p, c, n, USE_FP64=False)
        _gumbel_kernel[(rows, n)](g64, s, p, c, n, USE_FP64=True)
    return {"hash": h.numpy() & 0xFFFFFFFF, "hash_hi": h_hi.numpy() & 0xFFFFFFFF, "u": u.numpy(), "u64": u64.numpy(),
            "g": g.numpy(), "g64": g64.numpy()}


def philox_noise(seeds, positions, tokens: np.ndarray, direct: bool = False) -> dict:
    rows, n = tokens.shape
    key = torch.zeros(rows, dtype=torch.int64)
    u = torch.zeros(rows, n, dtype=torch.float32)
    u64 = torch.zeros(rows, n, dtype=torch.float64)
    g, g64, g_old = (torch.zeros(rows, n, dtype=d) for d in (torch.float32, torch.float64, torch.float32))
    s, p, c = _as_i64(seeds), _as_i64(positions), _cols(tokens)
    ones, idx = torch.ones(rows, dtype=torch.float32), torch.arange(rows, dtype=torch.int64)
    with direct_keys() if direct else contextlib.nullcontext():
        with release(PHILOX_ERA):
            _philox_kernel[(rows, triton.cdiv(n, 1024))](key, u, u64, s, p, c, n, BLOCK=1024)
            _gumbel_kernel[(rows, n)](g, s, p, c, n, USE_FP64=False)
            _gumbel_kernel[(rows, n)](g64, s, p, c, n, USE_FP64=True)
        with release(OLD_LOG_FORM):
            _gumbel_old_kernel[(rows, n)](g_old, s, p, c, ones, idx, n)
    return {"key": key.numpy() & 0xFFFFFFFF, "u": u.numpy(), "u64": u64.numpy(), "g": g.numpy(), "g64": g64.numpy(),
            "g_old": g_old.numpy()}


V_SMALL, V_LARGE = 49152, 151936  # SmolLM2 / Qwen2.5-style vocabularies

NOISE_PAIRS = [  # (seed, position): seeds and positions past 2^32 exercise the high words
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


def _noise_tokens(rng: np.random.Generator, n_tokens: int) -> np.ndarray:
    return np.stack(
        [
            np.concatenate([FIXED_TOKENS, rng.choice(V_LARGE, n_tokens - len(FIXED_TOKENS), replace=False)])
            for _ in NOISE_PAIRS
        ]
    ).astype(np.int32)


def make_noise_golden(path: str, n_tokens: int = 128) -> None:
    """vllm-0.30, vllm-0.30-fp64 and vllm-0.22: key, u (fp32 and fp64) and G per token."""
    rng = np.random.default_rng(20250601)
    tokens = _noise_tokens(rng, n_tokens)
    r = philox_noise([s for s, _ in NOISE_PAIRS], [p for _, p in NOISE_PAIRS], tokens)
    cases = []
    for i, (s, p) in enumerate(NOISE_PAIRS):
        cases.append(
            {
                "seed": s,
                "pos": p,
                "key": int(r["key"][i]),
                "tokens": tokens[i].tolist(),
                "u_bits": f32_bits(r["u"][i]),
                "g_bits": f32_bits(r["g"][i]),
                "g_old_bits": f32_bits(r["g_old"][i]),
                "u64_bits": f64_bits(r["u64"][i]),
                "g64_bits": f64_bits(r["g64"][i]),
            }
        )
    # Whole rows: u of every token of the vocabulary, as a hash (u has no libm in it and must be exact).
    full = np.tile(np.arange(V_LARGE, dtype=np.int32), (len(FULL_ROW_PAIRS), 1))
    with release(PHILOX_ERA):
        rows_n = len(FULL_ROW_PAIRS)
        key = torch.zeros(rows_n, dtype=torch.int64)
        fu = torch.zeros(rows_n, V_LARGE, dtype=torch.float32)
        fu64 = torch.zeros(rows_n, V_LARGE, dtype=torch.float64)
        _philox_kernel[(rows_n, triton.cdiv(V_LARGE, 1024))](
            key, fu, fu64, _as_i64([s for s, _ in FULL_ROW_PAIRS]), _as_i64([p for _, p in FULL_ROW_PAIRS]),
            _cols(full), V_LARGE, BLOCK=1024)
    rows = [
        {
            "seed": s,
            "pos": p,
            "n_vocab": V_LARGE,
            "u_fnv1a64": fnv1a64(fu[i].numpy().view(np.uint32)),
            "u_fnv1a64_first_49152": fnv1a64(fu[i].numpy()[:V_SMALL].view(np.uint32)),
        }
        for i, (s, p) in enumerate(FULL_ROW_PAIRS)
    ]
    # Keys that make token 0's raw Philox word hit the edges of uint_to_uniform_float and of the clamps
    # (found by a search over keys); tl.randint is bypassed so that vLLM's code runs on these keys.
    edge_keys = [0x6D7E45B7, 0x2D52B090, 0x5099A7E8, 0x409CB13, 0xCA206C45, 0x1E11D6AAC]
    e = philox_noise(edge_keys, [0] * len(edge_keys), np.zeros((len(edge_keys), 1), np.int32), direct=True)
    edges = [
        {
            "key": k,
            "token": 0,
            "u_bits": f32_bits(e["u"][i])[0],
            "g_bits": f32_bits(e["g"][i])[0],
            "g_old_bits": f32_bits(e["g_old"][i])[0],
        }
        for i, k in enumerate(edge_keys)
    ]
    write_golden(
        path,
        golden_meta(f"vLLM {PHILOX_ERA} and {OLD_LOG_FORM} gumbel.py noise (key, u, G; fp32 and fp64) via Triton's "
                    "interpreter", vllm=[PHILOX_ERA, OLD_LOG_FORM]),
        cases,
        full_rows=rows,
        edges=edges,
    )


def murmur3_column_for(seed: int, pos: int, target: int, domain: int = 0) -> int:
    """The column whose murmur3 hash under (seed, pos) is `target`: every step of MurmurHash3_x86_32 is a
    bijection of the state, so the last block can be solved for (edge cases h = 0 and h = 2^32 - 1)."""
    m = 0xFFFFFFFF
    rotl = lambda x, r: ((x << r) | (x >> (32 - r))) & m
    rotr = lambda x, r: ((x >> r) | (x << (32 - r))) & m

    def mix(h, k):
        k = (k * 0xCC9E2D51) & m
        k = rotl(k, 15)
        k = (k * 0x1B873593) & m
        h ^= k
        return (rotl(h, 13) * 5 + 0xE6546B64) & m

    def unfmix(h):
        h ^= h >> 16
        h = (h * pow(0xC2B2AE35, -1, 1 << 32)) & m
        h ^= (h >> 13) ^ (h >> 26)
        h = (h * pow(0x85EBCA6B, -1, 1 << 32)) & m
        h ^= h >> 16
        return h

    h = domain
    for k in (seed & m, (seed >> 32) & m, pos & m):
        h = mix(h, k)
    h4 = unfmix(target) ^ 16
    k_mixed = h ^ rotr((h4 - 0xE6546B64) * pow(5, -1, 1 << 32) & m, 13)
    k = (rotr((k_mixed * pow(0x1B873593, -1, 1 << 32)) & m, 15) * pow(0xCC9E2D51, -1, 1 << 32)) & m
    assert mix(h, k) == h4
    return k


def murmur3_edges() -> list[tuple[int, int, int]]:
    """(seed, pos, column) with hash 0 and 2^32 - 1 (SGLang issue #25106's vector is the second)."""
    return [(42, 17, murmur3_column_for(42, 17, 0)), (7847, 12345, 1208),
            (2**32 + 7, 2**32 + 5, murmur3_column_for(2**32 + 7, 2**32 + 5, 0xFFFFFFFF))]


def make_murmur3_golden(path: str, n_tokens: int = 48) -> None:
    """vllm and vllm-fp64: hash, u (fp32, fp64) and G (fp32, fp64) per token; every release in
    MURMUR3_RELEASES must agree bit for bit, and the last one's values are written."""
    rng = np.random.default_rng(20261201)
    tokens = _noise_tokens(rng, n_tokens)
    edges = murmur3_edges()
    seeds = [s for s, _ in NOISE_PAIRS] + [s for s, _, _ in edges]
    positions = [p for _, p in NOISE_PAIRS] + [p for _, p, _ in edges]
    cols = np.concatenate([tokens, np.stack([np.full(n_tokens, c, dtype=np.int64) for _, _, c in edges])])
    results = {v: murmur3_noise(v, seeds, positions, cols) for v in MURMUR3_RELEASES}
    last = results[MURMUR3_RELEASES[-1]]
    for v in MURMUR3_RELEASES[:-1]:
        for field in last:
            if not np.array_equal(results[v][field].view(np.uint8), last[field].view(np.uint8)):
                raise SystemExit(f"vLLM {v} and {MURMUR3_RELEASES[-1]} differ in {field}")
    cases = []
    for i, (s, p) in enumerate(zip(seeds, positions)):
        n = n_tokens if i < len(NOISE_PAIRS) else 1
        cases.append(
            {
                "seed": s,
                "pos": p,
                "tokens": cols[i][:n].tolist(),
                "hash": last["hash"][i][:n].tolist(),
                "hash_hi": last["hash_hi"][i][:n].tolist(),
                "u_bits": f32_bits(last["u"][i][:n]),
                "g_bits": f32_bits(last["g"][i][:n]),
                "u64_bits": f64_bits(last["u64"][i][:n]),
                "g64_bits": f64_bits(last["g64"][i][:n]),
            }
        )
    write_golden(
        path,
        golden_meta(f"vLLM {', '.join(MURMUR3_RELEASES)} gumbel.py murmur3 noise (hash, u, G; fp32 and fp64) via "
                    "Triton's interpreter (identical in all three)", vllm=MURMUR3_RELEASES),
        cases,
    )


def sample_row_specs(n_vocab: int, count: int, rng: np.random.Generator) -> list[dict]:
    specs = []
    for _ in range(count):
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


def vllm_sample(version: str, logits: torch.Tensor, temps, seeds, positions, top_k=None, top_p=None,
                use_fp64=False) -> list[int]:
    """What vLLM's Sampler does for seeded rows: temperature, top-k/top-p as -inf masks (the pytorch filter),
    then gumbel_sample without applying the temperature again."""
    x = logits.clone()
    t = torch.tensor(temps, dtype=torch.float32)
    x = torch.where(t.view(-1, 1) != 0, x / t.view(-1, 1), x)  # _temperature_kernel: fp32 division
    if top_k is not None or top_p is not None:
        k = None if top_k is None else torch.tensor(top_k, dtype=torch.int64)
        p = None if top_p is None else torch.tensor(top_p, dtype=torch.float32)
        x = filter_module(version).apply_top_k_top_p_pytorch(x, k, p)
    mod = gumbel_module(version)
    n = x.shape[0]
    sampled = mod.gumbel_sample(
        x,
        torch.arange(n, dtype=torch.int32),
        t,
        _as_i64(seeds),
        _as_i64(positions),
        apply_temperature=False,
        is_drafting=False,
        use_fp64=use_fp64,
    )
    return sampled.tolist()


SAMPLE_PLAN = [  # the Philox golden (vllm_sample.json) uses the rows without a filter
    # (V, temperatures, seeds, positions, top_k, top_p)
    (V_SMALL, [0.0, 0.5, 1.0, 1.7], [0, 42, 2**32 + 7, 0x0123456789ABCDEF], [5, 1000, 2**32 + 1], None, None),
    (V_LARGE, [0.7, 1.0], [3, 2**40 + 1], [77, 2**33], None, None),
    (V_SMALL, [0.8, 1.0], [7, 2**33 + 3], [12, 2**32 + 9], 50, None),
    (V_SMALL, [1.0, 1.3], [11, 2**35 + 1], [40, 300], None, 0.9),
    (V_LARGE, [0.6, 1.0], [13, 2**34 + 5], [99, 2**32 + 77], 40, 0.95),
]


# The murmur3 and SGLang sampled-token goldens: fewer rows (the interpreter runs V = 151936 rows slowly), with
# top-k, top-p and both together.
ENGINE_PLAN = [
    (V_SMALL, [0.5, 1.0, 1.7], [0, 2**32 + 7], [5, 2**32 + 1], None, None),
    (V_LARGE, [0.7, 1.0], [3], [77, 2**33], None, None),
    (V_SMALL, [1.0], [7, 2**33 + 3], [12, 2**32 + 9], 50, None),
    (V_SMALL, [1.3], [11, 2**35 + 1], [40, 300], None, 0.9),
    (V_LARGE, [0.6], [13, 2**34 + 5], [99, 2**32 + 77], 40, 0.95),
]


def _plan_cases(rng: np.random.Generator, plan=SAMPLE_PLAN):
    for n_vocab, temps, seeds, positions, top_k, top_p in plan:
        combos = [(t, s, p) for t in temps for s in seeds for p in positions]
        specs = sample_row_specs(n_vocab, len(combos), rng)
        logits = torch.from_numpy(np.stack([synthetic_logits(n_vocab, sp) for sp in specs]))
        yield n_vocab, combos, specs, logits, top_k, top_p


def make_sample_golden(path: str) -> None:
    """Sampled tokens of vllm-0.30 (the 0.30.0 kernel, fp32 path): the golden of the Philox-era profile."""
    rng = np.random.default_rng(777)
    cases = []
    for n_vocab, combos, specs, logits, top_k, top_p in _plan_cases(rng):
        if top_k is not None or top_p is not None:
            continue  # the Philox golden keeps its original plan (rows without a filter)
        sampled = vllm_sample(PHILOX_ERA, logits, [c[0] for c in combos], [c[1] for c in combos],
                              [c[2] for c in combos])
        for (t, s, p), sp, tok in zip(combos, specs, sampled):
            cases.append({"n_vocab": n_vocab, "logits": sp, "temperature": t, "seed": s, "pos": p, "sampled": tok})
    write_golden(path, golden_meta(f"vLLM {PHILOX_ERA} gumbel_sample sampled tokens via Triton's interpreter",
                                   vllm=[PHILOX_ERA]), cases)


def make_murmur3_sample_golden(path: str) -> None:
    """Sampled tokens of vllm and vllm-fp64 from the last release's gumbel_sample, with and without top-k/top-p
    (the noise golden shows 0.31-0.33 give the same noise; their sampling paths differ only in the speculative
    decoding cache, which plain sampling does not use)."""
    rng = np.random.default_rng(778)
    cases = []
    for n_vocab, combos, specs, logits, top_k, top_p in _plan_cases(rng, ENGINE_PLAN):
        n = len(combos)
        kk = None if top_k is None else [top_k] * n
        pp = None if top_p is None else [top_p] * n
        args = ([c[0] for c in combos], [c[1] for c in combos], [c[2] for c in combos])
        out = {}
        for fp64 in (False, True):
            out[fp64] = vllm_sample(MURMUR3_RELEASES[-1], logits, *args, top_k=kk, top_p=pp, use_fp64=fp64)
        for i, ((t, s, p), sp) in enumerate(zip(combos, specs)):
            cases.append(
                {
                    "n_vocab": n_vocab,
                    "logits": sp,
                    "temperature": t,
                    "top_k": top_k or 0,
                    "top_p": top_p or 1.0,
                    "seed": s,
                    "pos": p,
                    "sampled": out[False][i],
                    "sampled_fp64": out[True][i],
                }
            )
    write_golden(
        path,
        golden_meta(f"vLLM {MURMUR3_RELEASES[-1]} gumbel_sample (fp32 and fp64) after apply_top_k_top_p_pytorch, "
                    "via Triton's interpreter", vllm=MURMUR3_RELEASES[-1:]),
        cases,
    )
