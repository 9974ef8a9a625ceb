"""Runs difr's conformance tests against the committed goldens and writes docs/conformance.md from the results.

Standard library only, so that it runs without the originals' virtualenv (run.sh --report-only).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile

# (test, profile, what is compared, golden, original) in table order. The test records its tallies as gtest
# properties (tests/conformance/conformance_data.h, Tally::record).
ROWS = [
    (
        "VllmConformance.KeyIsTritonRandintOfSeedAndPosition",
        "vllm",
        "key = tl.randint(seed, pos), int64 seed and pos",
        "vllm_noise.json",
        "vllm",
    ),
    (
        "VllmConformance.UniformIsBitExact",
        "vllm",
        "u = tl.rand(key, token), selected tokens",
        "vllm_noise.json",
        "vllm",
    ),
    (
        "VllmConformance.WholeRowsOfUniformsHashTheSame",
        "vllm",
        "u over whole rows of V = 151936 (FNV-1a)",
        "vllm_noise.json",
        "vllm",
    ),
    (
        "VllmConformance.EdgesOfTheUniformAndTheClamps",
        "vllm, vllm-0.22",
        "raw words 0, 1, 2^31-1, 2^31, 2^32-2, 2^32-1: u and both G (clamps)",
        "vllm_noise.json",
        "vllm",
    ),
    (
        "VllmConformance.GumbelMatchesTheInterpreterToLibmPrecision",
        "vllm",
        "G = -log(-log1p(-u))",
        "vllm_noise.json",
        "vllm",
    ),
    (
        "VllmConformance.OldGumbelMatchesTheInterpreterToLibmPrecision",
        "vllm-0.22",
        "G = -log(-log(u))",
        "vllm_noise.json",
        "vllm-0.22",
    ),
    (
        "VllmConformance.SampledTokensMatchTheKernel",
        "vllm",
        "sampled token, V = 49152 and 151936, T in {0, .5, .7, 1, 1.7}",
        "vllm_sample.json",
        "vllm",
    ),
    (
        "EnginesConformance.Murmur3HashesAreBitExact",
        "vllm, vllm-fp64, sglang",
        "murmur3 hash (and the fp64 path's second hash), incl. hashes 0 and 2^32 - 1",
        "vllm_murmur3_noise.json",
        "vllm-murmur3",
    ),
    (
        "EnginesConformance.VllmMurmur3UniformsAreBitExact",
        "vllm, vllm-fp64",
        "u (fp32) and u (fp64, 53 bits)",
        "vllm_murmur3_noise.json",
        "vllm-murmur3",
    ),
    (
        "EnginesConformance.VllmMurmur3GumbelWithinLibmPrecision",
        "vllm",
        "G = -log(-L), L = _log1p_neg_stable(u)",
        "vllm_murmur3_noise.json",
        "vllm-murmur3",
    ),
    (
        "EnginesConformance.VllmFp64GumbelWithinLibmPrecision",
        "vllm-fp64",
        "G = -log(-log u) (fp64)",
        "vllm_murmur3_noise.json",
        "vllm-murmur3",
    ),
    (
        "EnginesConformance.VllmSampledTokensMatchTheKernel",
        "vllm",
        "sampled token, V = 49152 and 151936, T in {.5, .6, .7, 1, 1.3, 1.7}, top-k 50 / top-p .9 / both",
        "vllm_murmur3_sample.json",
        "vllm-murmur3-sample",
    ),
    (
        "EnginesConformance.VllmFp64SampledTokensMatchTheKernel",
        "vllm-fp64",
        "sampled token, the same rows (fp64 argmax)",
        "vllm_murmur3_sample.json",
        "vllm-murmur3-sample",
    ),
    (
        "EnginesConformance.Vllm030Fp64UniformsBitExactGumbelWithinLibm",
        "vllm-0.30-fp64",
        "tl_rand64 u (fp64) bit-exact, G = -log(-log u)",
        "vllm_noise.json",
        "vllm",
    ),
    (
        "EnginesConformance.SglangGumbelWithinLibmPrecision",
        "sglang",
        "G = -log(-clamp(log(h / (2^32 - 1)))) (fp64), incl. the clamp at h = 2^32 - 1",
        "sglang_noise.json",
        "sglang",
    ),
    (
        "EnginesConformance.SglangSampledTokensMatchTheSampler",
        "sglang",
        "sampled token, token-keyed and rank-keyed (top-k/top-p) paths",
        "sglang_sample.json",
        "sglang",
    ),
    (
        "TorchCpuConformance.ExponentialRowsAreBitExact",
        "torch-cpu",
        "E = exponential_ rows (selected values + whole-row FNV-1a)",
        "torch_cpu_noise.json",
        "torch",
    ),
    ("TorchCpuConformance.GumbelWithinOneUlpOfTorchLog", "torch-cpu", "G = -log(E)", "torch_cpu_noise.json", "torch"),
    (
        "TokenDifrConformance.ExactMatchAndLogitRankAreIdentical",
        "torch-cpu",
        "exact_match, logit_rank (all T)",
        "token_difr_metrics.json",
        "token-difr",
    ),
    (
        "TokenDifrConformance.ProbWithinSoftmaxPrecision",
        "torch-cpu",
        "prob (all T)",
        "token_difr_metrics.json",
        "token-difr",
    ),
    (
        "TokenDifrConformance.MarginMatchesAtPositiveTemperature",
        "torch-cpu",
        "margin (T > 0)",
        "token_difr_metrics.json",
        "token-difr",
    ),
    (
        "TokenDifrConformance.GumbelRankMatchesAtPositiveTemperature",
        "torch-cpu",
        "gumbel_rank (T > 0)",
        "token_difr_metrics.json",
        "token-difr",
    ),
    (
        "TokenDifrConformance.GreedyDiffersOnlyWhereDocumented",
        "greedy",
        "T = 0: margin, gumbel_rank (documented differences)",
        "token_difr_metrics.json",
        "token-difr",
    ),
    (
        "TokenDifrConformance.TopKLogprobsGreedyPath",
        "greedy",
        "top-k logprobs path: exact_match, margin, ranks",
        "token_difr_logprobs.json",
        "token-difr",
    ),
    (
        "TorchCudaPhilox.Random123KnownAnswers4x32",
        "torch-cuda",
        "Philox4x32-10 core (GPU confirmation pending)",
        None,
        "Random123",
    ),
    ("TorchCudaPhilox.Random123KnownAnswers4x64", "(vllm, Triton <= 3.3)", "Philox4x64-10 core", None, "Random123"),
    (
        "ToplocConformance.ProofsAreByteIdenticalToThePackages",
        "TOPLOC",
        "proof bytes (ties at the k-th value, both CPU top-k algorithms, m < 65497)",
        "toploc.json",
        "toploc",
    ),
    (
        "ToplocConformance.VerificationMatchesBothOfThePackagesPaths",
        "TOPLOC",
        "exp_mismatches, mant_err_mean, mant_err_median (C++ and Python paths)",
        "toploc.json",
        "toploc",
    ),
]

ORIGINALS = {
    "vllm": "vLLM 0.30.0 gumbel.py (wheel) in Triton's interpreter",
    "vllm-0.22": "vLLM 0.22.0 gumbel.py (wheel) in Triton's interpreter",
    "vllm-murmur3": "vLLM 0.31.0, 0.32.0, 0.33.0 gumbel.py (wheels, identical) in Triton's interpreter",
    "vllm-murmur3-sample": "vLLM 0.33.0 gumbel_sample + apply_top_k_top_p_pytorch (wheel), Triton's interpreter",
    "sglang": "SGLang 0.5.23 murmur_hash32_kernel + sampler.py functions (wheel), CPU torch",
    "torch": "torch.Generator().exponential_ (CPU)",
    "token-difr": "token-difr _get_probs, _verify_vllm_gumbel_max, api (CPU)",
    "Random123": "Random123 tests/kat_vectors",
    "toploc": "toploc 0.1.6 (PyPI wheel) build_proofs_base64, verify_proofs_base64",
}


def run_tests(binary: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.json")
        proc = subprocess.run([binary, f"--gtest_output=json:{out}"], capture_output=True, text=True)
        if not os.path.exists(out):
            raise SystemExit(f"{binary} wrote no results (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        with open(out) as f:
            data = json.load(f)
    results = {}
    for suite in data["testsuites"]:
        for t in suite["testsuite"]:
            results[f"{suite['name']}.{t['name']}"] = t
    return results


def versions(meta: dict, original: str) -> str:
    p = meta.get("packages", {})
    if original in ("vllm", "vllm-0.22", "vllm-murmur3", "vllm-murmur3-sample"):
        return f"vllm {p.get('vllm', '?')}; triton {p.get('triton')}, torch {p.get('torch')}"
    if original == "sglang":
        return f"sglang {p.get('sglang', '?')}; triton {p.get('triton')}, torch {p.get('torch')}"
    if original == "torch":
        return f"torch {p.get('torch')}"
    if original == "toploc":
        return f"toploc {p.get('toploc')}, torch {p.get('torch')}"
    if original == "token-difr":
        return f"token-difr {p.get('token-difr')}, torch {p.get('torch')}"
    return "v1.14.0"


def deviation(t: dict) -> str:
    parts = []
    if t.get("max_ulp", "0") != "0":
        parts.append(f"{t['max_ulp']} ulp")
    if t.get("max_rel", "0") not in ("0", None):
        parts.append(f"{t['max_rel']} rel")
    return ", ".join(parts) or ("0" if "compared" in t or "exact_match_compared" in t else "")


def table(results: dict, metas: dict) -> list[str]:
    lines = [
        "| profile | compared | original | versions | values | bit-exact | max deviation | result |",
        "| --- | --- | --- | --- | ---: | ---: | --- | --- |",
    ]
    for test, profile, what, golden, original in ROWS:
        t = results.get(test)
        if t is None:
            lines.append(f"| {profile} | {what} | {ORIGINALS[original]} | | | | | missing: {test} |")
            continue
        ok = "pass" if not t.get("failures") and t.get("result") == "COMPLETED" else "FAIL"
        meta = metas.get(golden, {}) if golden else {}
        if "exact_match_compared" in t:
            values = f"{t['exact_match_compared']} + {t['logit_rank_compared']}"
            exact = f"{int(t['exact_match_bit_exact']) + int(t['logit_rank_bit_exact'])}"
        else:
            values, exact = t.get("compared", ""), t.get("bit_exact", "")
        extra = [f"{k} {v}" for k, v in t.items() if k in ("masked_by_top_p_one", "same_finite_margin", "hashed")]
        dev = deviation(t) + ("; " + ", ".join(extra) if extra else "")
        lines.append(
            f"| {profile} | {what} | {ORIGINALS[original]} | {versions(meta, original)} | {values} | {exact} "
            f"| {dev} | {ok} |"
        )
    return lines


def goldens_section(goldens: str, metas: dict) -> list[str]:
    lines = ["| golden | size | made | command | what |", "| --- | ---: | --- | --- | --- |"]
    for name in sorted(metas):
        m = metas[name]
        size = os.path.getsize(os.path.join(goldens, name))
        lines.append(
            f"| tests/data/conformance/{name} | {size / 1024:.0f} KiB | {m.get('date', '')} "
            f"| `{m.get('command', '')}` | {m.get('what', '')} |"
        )
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tests", required=True, help="the difr_conformance_tests binary")
    ap.add_argument("--goldens", required=True, help="tests/data/conformance")
    ap.add_argument("--out", required=True, help="docs/conformance.md")
    args = ap.parse_args()
    metas = {}
    for name in os.listdir(args.goldens):
        if name.endswith(".json"):
            with open(os.path.join(args.goldens, name)) as f:
                metas[name] = json.load(f)["meta"]
    results = run_tests(args.tests)
    any_meta = next(iter(metas.values()), {})
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "conformance.md.in")) as f:
        template = f.read()
    text = (
        template.replace("@TABLE@", "\n".join(table(results, metas)))
        .replace("@GOLDENS@", "\n".join(goldens_section(args.goldens, metas)))
        .replace(
            "@MACHINE@",
            f"{any_meta.get('machine', '?')}, CPU flags {', '.join(any_meta.get('cpu_flags', []))}, "
            f"Python {any_meta.get('python', '?')}",
        )
    )
    with open(args.out, "w") as f:
        f.write(text)
    failed = [k for k, v in results.items() if v.get("failures")]
    print(
        f"wrote {args.out}: {len(results)} tests, {len(failed)} failed" + (f": {', '.join(failed)}" if failed else "")
    )
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
