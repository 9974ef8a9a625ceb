"""verify_outputs_fireworks (and verify_outputs_reference) against prompt-logprob servers on loopback: difr
serve in both wire formats, compared with `difr verify --reference` and with the local engine."""

from __future__ import annotations

import asyncio
import http.server
import json
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

import difr_llm
from conftest import ROOT, THREADS, difr_bin, read_jsonl, run_difr
from difr_llm import TokenSequence, verify_outputs, verify_outputs_fireworks, verify_outputs_reference
from test_verify import assert_rows_equal

MODEL = "smollm2-135m-instruct-q4_1"
GREEDY = dict(temperature=0.0, top_k=50, top_p=0.95, seed=42)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    work = tmp_path_factory.mktemp("serve")
    ready = work / "port"
    proc = subprocess.Popen([difr_bin(), "serve", "--port", "0", "--ready-file", str(ready), "-t", "1"],
                            stdout=subprocess.DEVNULL, stderr=open(work / "serve.log", "w"))
    for _ in range(600):
        if ready.exists() and ready.read_text().strip():
            break
        time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("difr serve did not start: " + (work / "serve.log").read_text())
    yield f"http://127.0.0.1:{ready.read_text().strip()}/v1"
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def greedy(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("greedy")
    prompts = work / "prompts.jsonl"
    prompts.write_text("".join((ROOT / "data/prompts/default.jsonl").read_text().splitlines(True)[4:7]))
    out = work / "saved.json"
    run_difr("generate", "--prompts", str(prompts), "--max-tokens", "20", "--temperature", "0", "-t", str(THREADS),
             "-o", str(out))
    return out


def sequences(path: Path) -> list[TokenSequence]:
    return [TokenSequence(**{k: s[k] for k in ("prompt_token_ids", "output_token_ids")})
            for s in json.loads(path.read_text())]


def test_fireworks_wire_equals_cli_and_local_engine(served, greedy, embedded, tmp_path):
    seqs = sequences(greedy)
    client = SimpleNamespace(base_url=served + "/", api_key=None)  # what an AsyncOpenAI client carries
    results = asyncio.run(verify_outputs_fireworks(seqs, vocab_size=49152, **GREEDY, client=client, model=MODEL,
                                                   verbose=False))
    run_difr("verify", "-i", str(greedy), "-o", str(tmp_path / "cli"), "--reference", f"fireworks={served}",
             "--reference-topk", "20", "-t", str(THREADS))
    assert_rows_equal(results, read_jsonl(tmp_path / "cli/tokens.jsonl"), seqs)
    local = verify_outputs(seqs, embedded, **GREEDY, verbose=False)
    assert [[m.exact_match for m in s] for s in results] == [[m.exact_match for m in s] for s in local]
    assert [[m.predicted for m in s] for s in results] == [[m.predicted for m in s] for s in local]
    assert all(m.exact_match for s in results for m in s)


def test_vllm_wire_with_sampling_equals_cli(served, generated, tmp_path):
    seqs = sequences(generated)
    s = dict(temperature=1.0, top_k=50, top_p=0.95, seed=42)
    results = verify_outputs_reference(seqs, 49152, **s, base_url=served, model=MODEL, wire="vllm",
                                       topk_logprobs=5, verbose=False, out_dir=tmp_path / "py")
    run_difr("verify", "-i", str(generated), "-o", str(tmp_path / "cli"), "--reference", f"vllm={served}",
             "--temperature", "1", "--top-k", "50", "--top-p", "0.95", "--seed", "42")
    assert_rows_equal(results, read_jsonl(tmp_path / "cli/tokens.jsonl"), seqs)
    assert (tmp_path / "py/tokens.jsonl").read_bytes() == (tmp_path / "cli/tokens.jsonl").read_bytes()
    summary = json.loads((tmp_path / "py/summary.json").read_text())
    assert summary["provenance"]["reference"] == {"kind": "topk", "k": 5, "wire": "vllm_prompt_logprobs",
                                                  "url": served, "model": MODEL}


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Forwards to difr serve and records the Authorization header of each request."""

    upstream = ""
    seen: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append(self.headers.get("Authorization"))
        req = urllib.request.Request(self.upstream + self.path[len("/v1"):], data=body,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req) as r:
            answer = r.read()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


def test_the_clients_key_is_sent_and_never_shown(served, greedy):
    _Recorder.upstream, _Recorder.seen = served, []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = SimpleNamespace(base_url=f"http://127.0.0.1:{server.server_port}/v1/", api_key="sk-test-123")
        seqs = sequences(greedy)[:2]
        asyncio.run(verify_outputs_fireworks(seqs, vocab_size=49152, **GREEDY, client=client, model=MODEL,
                                             verbose=False))
        assert _Recorder.seen == ["Bearer sk-test-123"] * 2
    finally:
        server.shutdown()


def test_remote_errors_name_the_sequence(greedy):
    seqs = sequences(greedy)
    # One request at a time, so the first to fail is sequence 0's (with 10 in flight any of them may be).
    with pytest.raises(difr_llm.RemoteError, match=r"reference \(sequence 0\).*127.0.0.1:9"):
        verify_outputs_reference(seqs, 49152, **GREEDY, base_url="http://127.0.0.1:9/v1", model=MODEL,
                                 max_attempts=1, verbose=False, concurrency=1)
    bad = [seqs[0], TokenSequence(seqs[1].prompt_token_ids, [7, 60000])]
    with pytest.raises(ValueError, match=r"sequence 1, output position 1: token id 60000"):  # before any request
        verify_outputs_reference(bad, 49152, **GREEDY, base_url="http://127.0.0.1:9/v1", model=MODEL,
                                 verbose=False)
    with pytest.raises(ValueError, match="wire 'tinker'"):
        verify_outputs_reference(seqs, 49152, **GREEDY, base_url="http://x/v1", model=MODEL, wire="tinker")
    with pytest.raises(ValueError, match="FIREWORKS_API_KEY"):
        verify_outputs_reference(seqs, 49152, **GREEDY, base_url="https://api.fireworks.ai/inference/v1",
                                 model=MODEL, verbose=False)
