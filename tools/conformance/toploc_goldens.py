"""TOPLOC goldens made by the PyPI package toploc 0.1.6 itself (issue #13, docs/conformance.md).

Run by tools/conformance/toploc_run.sh inside its own virtualenv (toploc_requirements.txt: toploc 0.1.6 with the
torch it was built against). Writes tests/data/conformance/toploc.json: per case the bf16 activations (bits),
the package's proofs (build_proofs_base64) and its verification results for several verifier activations, on
both of its code paths (the C++ path: a 2-D tensor with skip_prefill=True; the Python path: a list of
tensors). difr's conformance test (tests/conformance/test_toploc.cpp) rebuilds every proof byte for byte and
recomputes every result. The cases include ties at the k-th value, both of torch's CPU top-k algorithms
(partial_sort when 64 k <= n, nth_element otherwise), chunks past 65497 values that force a modulus below
65497, and the README's own example, whose printed proofs and results are asserted here.

With --difr BINARY the harness also runs `difr toploc build` on npz files of the cases and has the package
verify difr's proofs (the other direction): every result must be a perfect match.
"""

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import toploc
import torch

import goldens


def bits_of(t):
    """bf16 tensor -> list of uint16 bits (row-major)."""
    return t.contiguous().view(torch.int16).numpy().astype(np.uint16).reshape(-1)


def b64_bits(t):
    return base64.b64encode(bits_of(t).astype("<u2").tobytes()).decode()


def from_np(a):
    """float32 numpy -> bf16 tensor (round to nearest even, as torch does)."""
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).to(torch.bfloat16)


def results_list(rs):
    return [[int(r.exp_mismatches), float(r.mant_err_mean), float(r.mant_err_median)] for r in rs]


def case(name, acts, dbs, topk, skip_prefill, verifiers, note):
    """acts: list of bf16 tensors (prefill [L, H] first unless skip_prefill, then [H] per decode step)."""
    proofs = toploc.build_proofs_base64(acts, decode_batching_size=dbs, topk=topk, skip_prefill=skip_prefill)
    if any(base64.b64decode(p)[:2] == b"\x00\x00" for p in proofs):
        raise SystemExit(f"case {name}: the package returned null proofs")
    out = {
        "name": name,
        "note": note,
        "topk": topk,
        "decode_batching_size": dbs,
        "skip_prefill": skip_prefill,
        "activations": [{"shape": list(a.shape), "bf16": b64_bits(a)} for a in acts],
        "proofs": proofs,
        "verify": [],
    }
    for vname, vacts in verifiers:
        entry = {"name": vname}
        if vacts is acts:
            entry["same_as_prover"] = True  # not stored twice
        else:
            entry["activations"] = [{"shape": list(a.shape), "bf16": b64_bits(a)} for a in vacts]
        # The Python path: a list of tensors (any skip_prefill).
        entry["python"] = results_list(
            toploc.verify_proofs_base64(vacts, proofs, decode_batching_size=dbs, topk=topk, skip_prefill=skip_prefill))
        # The C++ path: a 2-D tensor with skip_prefill=True (decode steps of equal width only).
        if skip_prefill and all(a.dim() == 1 for a in vacts) and len({a.shape[0] for a in vacts}) == 1:
            entry["cpp"] = results_list(
                toploc.verify_proofs_base64(torch.stack(vacts), proofs, decode_batching_size=dbs, topk=topk,
                                            skip_prefill=True))
        out["verify"].append(entry)
    return out


def readme_case():
    torch.manual_seed(42)
    prefill = [torch.randn(5, 16, dtype=torch.bfloat16)]
    generate = [torch.randn(16, dtype=torch.bfloat16) for _ in range(10)]
    acts = prefill + generate
    c = case("readme", acts, 3, 4, False, [("readme_x1.01", [a * 1.01 for a in acts])],
             "the README's example: torch.manual_seed(42), randn(5, 16) + 10 x randn(16), bf16, dbs 3, k 4")
    expected = ["/9kbQitnukt1bQ==", "/9nLuJrxhiVUoA==", "/9m0aNrm5KtBtg==", "/9mAZNZYMOKvcw==", "/9nSBGTqkZH21w=="]
    assert c["proofs"] == expected, c["proofs"]
    got = c["verify"][0]["python"]
    assert got == [[0, 1.75, 2.0], [0, 2.0, 2.0], [0, 1.25, 1.0], [0, 1.0, 1.0], [0, 2.0, 2.0]], got
    return c


def decode_steps(rng, n, h, scale=1.0):
    return [from_np(rng.standard_normal(h) * scale) for _ in range(n)]


def jitter(acts, rng, rel):
    return [from_np(a.float().numpy() * (1.0 + rel * rng.standard_normal(a.shape))) for a in acts]


def cases():
    rng = np.random.default_rng(20260113)
    out = [readme_case()]

    # Gaussian decode steps, the standard settings scaled down (k = 128 over 32 x 576: partial_sort).
    acts = decode_steps(rng, 70, 576)
    out.append(case("smollm_dbs32_k128", acts, 32, 128, True,
                    [("identical", acts), ("jitter_1e-2", jitter(acts, rng, 1e-2)),
                     ("other", decode_steps(rng, 70, 576))],
                    "70 Gaussian decode steps of H = 576, chunks of 32 (the last of 6), top-128: partial_sort"))

    # Per token, as DiFR runs it (dbs 1), k from 2 to 128: k = 2..8 partial_sort, 16..128 nth_element (n = 576).
    acts = decode_steps(rng, 3, 576)
    for k in (2, 4, 8, 16, 32, 64, 128):
        out.append(case(f"per_token_k{k}", acts, 1, k, True,
                        [("identical", acts), ("jitter_1e-2", jitter(acts, rng, 1e-2))],
                        f"3 decode steps of H = 576, one proof per token (DiFR's setting), top-{k}"))

    # Ties at the k-th value: few distinct magnitudes, both signs, so |x| ties across many indices.
    levels = np.array([0.5, 1.0, 1.5, 2.0, 3.0], dtype=np.float32)
    tie = [from_np(rng.choice(levels, 576) * rng.choice([-1.0, 1.0], 576)) for _ in range(36)]
    for dbs, k in ((32, 128), (1, 8), (1, 16), (1, 128), (4, 64)):
        steps = tie if dbs == 32 else tie[:8]
        verifiers = [("identical", steps)] + ([("jitter_1e-2", jitter(steps, rng, 1e-2))] if dbs == 32 else [])
        out.append(case(f"ties_dbs{dbs}_k{k}", steps, dbs, k, True, verifiers,
                        f"heavy ties at the k-th value (|x| in 5 levels), dbs {dbs}, top-{k}"))
    # Ties on small chunks that take nth_element with n just above k.
    small = [from_np(rng.integers(-3, 4, 16).astype(np.float32)) for _ in range(9)]
    out.append(case("ties_small_nth", small, 2, 12, True, [("identical", small)],
                    "integers -3..3 over H = 16, dbs 2, top-12 of 32: nth_element with ties"))

    # With a prefill proof (list path only), and a prefill whose flattened size passes 65497.
    prefill = from_np(rng.standard_normal((12, 576)))
    acts = [prefill] + decode_steps(rng, 9, 576)
    out.append(case("prefill_dbs4_k64", acts, 4, 64, False, [("identical", acts), ("jitter_1e-2", jitter(acts, rng, 1e-2))],
                    "a 12 x 576 prefill proof, then 9 decode steps in chunks of 4, top-64"))

    # A chunk past 65497 values whose top-k collides mod 65497: the modulus is searched below 65497. Two
    # large values at positions i and i + 65497 force it; the Python path then evaluates the unreduced index
    # (the package's bug) while the C++ path reduces it.
    h = 4096
    rows = rng.standard_normal((17, h)).astype(np.float32)
    flat = rows.reshape(-1)
    for i in (11, 777, 4000):
        flat[i] = 9.0 + i * 1e-3
        flat[i + 65497] = -9.5 - i * 1e-3
    acts = [from_np(r) for r in flat.reshape(17, h)]
    out.append(case("modulus_below_prime", acts, 17, 128, True,
                    [("identical", acts), ("jitter_1e-2", jitter(acts, rng, 1e-2))],
                    "one chunk of 17 x 4096 = 69632 values with top-k indices equal mod 65497: m < 65497"))
    return out


def package_verifies_difr(difr, data):
    """Writes each case's activations as an npz, has `difr toploc build` prove them, verifies with the package."""
    report = []
    with tempfile.TemporaryDirectory() as tmp:
        for c in data["cases"]:
            acts = []
            arrays = {}
            for i, a in enumerate(c["activations"]):
                bits = np.frombuffer(base64.b64decode(a["bf16"]), dtype="<u2").reshape(a["shape"])
                arrays[f"a{i}"] = bits
                acts.append(torch.from_numpy(bits.astype(np.int16)).view(torch.bfloat16))
            path = os.path.join(tmp, c["name"] + ".npz")
            np.savez(path, **arrays)
            cmd = [difr, "toploc", "build", "--activations", path, "--topk", str(c["topk"]),
                   "--decode-batching-size", str(c["decode_batching_size"])]
            if c["skip_prefill"]:
                cmd.append("--skip-prefill")
            proofs = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.split()
            stackable = c["skip_prefill"] and all(a.dim() == 1 for a in acts) and len({a.shape[0] for a in acts}) == 1
            # The C++ path where the package takes it (it reduces indices mod m); the list path otherwise.
            res = toploc.verify_proofs_base64(torch.stack(acts) if stackable else acts, proofs,
                                              decode_batching_size=c["decode_batching_size"], topk=c["topk"],
                                              skip_prefill=c["skip_prefill"])
            perfect = all(r.exp_mismatches == 0 and r.mant_err_mean == 0 for r in res)
            same = proofs == c["proofs"]
            report.append({"case": c["name"], "proofs": len(proofs), "identical_bytes": same, "package_accepts": perfect})
            if not (same and perfect):
                raise SystemExit(f"case {c['name']}: difr's proofs identical={same}, package verifies perfectly={perfect}")
    return report


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--difr", help="difr binary: also check that the package verifies difr's proofs")
    args = ap.parse_args()
    meta = common.golden_meta("toploc 0.1.6 proofs (build_proofs_base64) and verification results (its C++ and "
                              "Python paths) on bf16 activations, ties at the k-th value included")
    meta["packages"]["toploc"] = toploc.__version__
    data = {"cases": cases()}
    extra = {}
    if args.difr:
        extra["package_verifies_difr"] = package_verifies_difr(args.difr, data)
    goldens.write_golden(args.out, meta, data["cases"], **extra)
    n_proofs = sum(len(c["proofs"]) for c in data["cases"])
    print(f"{len(data['cases'])} cases, {n_proofs} proofs")
    if args.difr:
        print("the package verifies every proof difr built, and difr's bytes are identical")


if __name__ == "__main__":
    sys.exit(main())
