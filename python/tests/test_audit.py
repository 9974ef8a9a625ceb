"""audit_provider on loopback: llama-server (the pinned llama.cpp) serves the embedded model as an honest
provider; the local engine is the reference. The result equals `difr audit`'s for the same provider and
settings, and a store makes a second call reuse every answer."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from dataclasses import asdict

import pytest

import difr_llm
from conftest import ROOT, THREADS, run_difr
from difr_llm import AuditResult, audit_provider, construct_prompts

HF = "HuggingFaceTB/SmolLM2-135M-Instruct"


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    server = os.environ.get("DIFR_LLAMA_SERVER")
    if not server:
        pytest.skip("DIFR_LLAMA_SERVER is not set (run from ctest)")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    proc = subprocess.Popen([server, "-m", difr_llm.model_path(None), "--host", "127.0.0.1", "--port", str(port),
                             "-fa", "off", "--parallel", "1", "-t", "1", "-c", "2048", "--no-webui"],
                            stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            urllib.request.urlopen(url + "/health", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("llama-server did not start: " + log.read_text()[-2000:])
    yield f"honest={url}/v1"
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def conversations(tmp_path_factory):
    lines = (ROOT / "data/prompts/default.jsonl").read_text().splitlines()[:6]
    path = tmp_path_factory.mktemp("prompts") / "six.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path, construct_prompts(custom_prompts=[json.loads(l)["messages"] for l in lines], system_prompt=None)


def test_honest_provider_equals_difr_audit(provider, conversations, embedded, tmp_path):
    path, convs = conversations
    result = audit_provider(convs, HF, provider, max_tokens=32, concurrency=2, reference="local", gguf=embedded,
                            store=tmp_path / "runs.sqlite", verbose=False)
    assert isinstance(result, AuditResult)
    assert result.n_sequences == 6 and result.total_tokens > 100
    assert result.exact_match_rate >= 0.97  # the provider is the reference model itself
    assert repr(result) == (f"AuditResult({result.exact_match_rate:.1%} match rate, {result.total_tokens} tokens "
                            f"across 6 sequences)")
    assert result.details["reference"]["kind"] == "local" and result.details["responses"]["new"] == 6

    run_difr("audit", "--prompts", str(path), "--max-tokens", "32", "--concurrency", "2", "-p", provider,
             "--hf-model", HF, "-t", str(THREADS), "-o", str(tmp_path / "cli"))
    cli = json.loads((tmp_path / "cli/audit_results.json").read_text())["honest"]
    ours = asdict(result)
    for k in ("exact_match_rate", "avg_prob", "avg_margin", "avg_logit_rank", "avg_gumbel_rank",
              "infinite_margin_rate", "total_tokens"):
        assert ours[k] == cli[k], k

    again = audit_provider(convs, HF, provider, max_tokens=32, concurrency=2, reference="local", gguf=embedded,
                           store=tmp_path / "runs.sqlite", verbose=False)
    assert again == result
    assert again.details["responses"] == {"reused": 6, "new": 0}


def test_token_difr_defaults_need_their_keys(monkeypatch, conversations):
    _, convs = conversations
    monkeypatch.delenv("OPENROUTER_API_KEY", raising=False)
    monkeypatch.delenv("FIREWORKS_API_KEY", raising=False)
    with pytest.raises(ValueError, match="OPENROUTER_API_KEY environment variable not set"):
        audit_provider(convs, "meta-llama/Llama-3.3-70B-Instruct", provider="together")
    monkeypatch.setenv("OPENROUTER_API_KEY", "unused")
    with pytest.raises(ValueError, match="FIREWORKS_API_KEY environment variable not set"):
        audit_provider(convs, "meta-llama/Llama-3.3-70B-Instruct", provider="together")
    monkeypatch.setenv("FIREWORKS_API_KEY", "unused")
    with pytest.raises(ValueError, match="Model org/New not in FIREWORKS_MODEL_REGISTRY"):
        audit_provider(convs, "org/New", provider="together")


def test_bad_conversations_are_named(provider, embedded):
    with pytest.raises(TypeError, match=r"conversation 1, message 0: expected a dict"):
        audit_provider([[{"role": "user", "content": "hi"}], ["hello"]], HF, provider, reference="local",
                       gguf=embedded, verbose=False)
