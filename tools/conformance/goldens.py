"""Shared pieces of the conformance harness: synthetic logits, hashes, golden metadata and the writer.

Everything here has a twin in tests/conformance/conformance_data.cpp; change both or neither.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
import platform
import sys

import numpy as np

M64 = (1 << 64) - 1
GOLDEN_GAMMA = 0x9E3779B97F4A7C15


def splitmix64_at(seed: int, idx: np.ndarray) -> np.ndarray:
    """The idx-th output (0-based) of SplitMix64 started at `seed`, for many idx at once."""
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + (idx.astype(np.uint64) + np.uint64(1)) * np.uint64(GOLDEN_GAMMA)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def synthetic_logits(n_vocab: int, spec: dict) -> np.ndarray:
    """One row of float32 logits from a small spec, exactly reproducible in C++.

    base_i = ((top 24 bits of splitmix64_i) * 2^-23 - 1) * 2^scale_log2, uniform in [-2^s, 2^s); every step is
    exact in float32, so both sides get the same bits without sharing a libm. `spikes` ([id, value], values
    exactly representable) then give the row a head, the way real next-token distributions have one.
    """
    idx = np.arange(n_vocab, dtype=np.uint64)
    m = (splitmix64_at(spec["seed"], idx) >> np.uint64(40)).astype(np.float32)
    x = (m * np.float32(2.0**-23) - np.float32(1.0)) * np.float32(2.0 ** spec["scale_log2"])
    for tok, val in spec.get("spikes", []):
        x[tok] = np.float32(val)
    return x.astype(np.float32)


def fnv1a64(bits: np.ndarray) -> str:
    """FNV-1a (64-bit) over the little-endian bytes of an array of uint32 bit patterns, as 16 hex digits."""
    h = 0xCBF29CE484222325
    for b in bits.astype("<u4").tobytes():
        h = ((h ^ b) * 0x100000001B3) & M64
    return f"{h:016x}"


def f32_bits(x) -> list[int]:
    return np.atleast_1d(np.asarray(x, dtype=np.float32)).view(np.uint32).astype(np.int64).tolist()


def f64_bits(x) -> list[str]:
    """float64 bit patterns as 16 hex digits (JSON numbers cannot carry all 64 bits exactly)."""
    return [f"{b:016x}" for b in np.atleast_1d(np.asarray(x, dtype=np.float64)).view(np.uint64).tolist()]


def f32_bit(x) -> int:
    return f32_bits(x)[0]


def cpu_flags() -> list[str]:
    """The SIMD features that select numpy's and torch's float32 log kernels (they differ by a few ulp)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    have = set(line.split(":", 1)[1].split())
                    return [x for x in ("avx2", "fma", "avx512f", "avx512dq") if x in have]
    except OSError:
        pass
    return []


def golden_meta(what: str, **originals) -> dict:
    """`originals`: the releases of wheel-loaded originals a golden came from (vllm=[...], sglang=[...])."""
    pkgs = {}
    for name in ("token-difr", "torch", "triton", "numpy"):
        try:
            pkgs[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    for name, releases in originals.items():
        pkgs[name] = ", ".join(releases)
    return {
        "what": what,
        "command": os.environ.get("DIFR_CONFORMANCE_COMMAND", " ".join([os.path.basename(sys.argv[0])] + sys.argv[1:])),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "packages": pkgs,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_flags": cpu_flags(),
    }


def write_golden(path: str, meta: dict, cases: list[dict], **extra) -> None:
    """One case a line, so that a regenerated golden diffs case by case."""
    with open(path, "w") as f:
        f.write("{\n")
        f.write(f'"meta": {json.dumps(meta)},\n')
        for k, v in extra.items():
            f.write(f"{json.dumps(k)}: {json.dumps(v)},\n")
        f.write('"cases": [\n')
        f.write(",\n".join(json.dumps(c, separators=(",", ":")) for c in cases))
        f.write("\n]\n}\n")
    print(f"wrote {path} ({os.path.getsize(path)} bytes, {len(cases)} cases)")
