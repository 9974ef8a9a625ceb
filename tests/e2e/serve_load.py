#!/usr/bin/env python3
"""difr serve under load and under attack, on loopback (docs/hardening.md; run by tests/e2e/serve_load.sh).

load:   a pool of distinct valid requests (Fireworks echo and vLLM prompt_logprobs of random prompts of 2 to
        --max-prompt tokens, GET /v1/models and /health) is answered once serially; then CLIENTS threads, each on its own
        kept-alive connection, send REQUESTS requests drawn from the pool. Every answer must equal the serial
        one (id and created aside). Prints throughput, p50/p99 latency and the server's memory (VmRSS sampled
        every 50 ms, against its size after the serial pass), and writes them as JSON with --json.
attack: hostile clients (oversized body and headers, slow senders, malformed JSON, invalid UTF-8, prompts past
        the context, ids outside the vocabulary, a request that would hold the engine, missing or wrong bearer
        keys) each get their HTTP error with a JSON message, while a well-behaved client keeps getting its
        right answers throughout.
"""
import argparse
import http.client
import json
import random
import select
import socket
import sys
import threading
import time

N_VOCAB = 49152


def canonical(body):
    """The answer without what legitimately differs between two identical requests."""
    j = json.loads(body)
    if isinstance(j, dict):
        j.pop("id", None)
        j.pop("created", None)
    return json.dumps(j, sort_keys=True)


class Client:
    """One kept-alive HTTP/1.1 connection; reconnects when the server closes it."""

    def __init__(self, host, port, key=None, timeout=600):
        self.host, self.port, self.key, self.timeout = host, port, key, timeout
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        h = {"Content-Type": "application/json"}
        if self.key:
            h["Authorization"] = "Bearer " + self.key
        h.update(headers or {})
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=body, headers=h)
                r = self.conn.getresponse()
                data = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return r.status, data
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # A kept-alive connection the server closed between requests: one fresh try.
                self.conn.close()
                self.conn = None
                if attempt == 1:
                    raise


def request_pool(rng, n, args_max_prompt):
    pool = [("GET", "/health", None), ("GET", "/v1/models", None)]
    while len(pool) < n:
        prompt = [1] + [rng.randrange(N_VOCAB) for _ in range(rng.randrange(1, args_max_prompt))]
        kind = rng.randrange(3)
        if kind == 0:
            body = {"prompt": prompt, "max_tokens": 1, "echo": True, "logprobs": True,
                    "top_logprobs": rng.randrange(0, 6)}
        elif kind == 1:
            body = {"prompt": prompt, "max_tokens": 1, "prompt_logprobs": rng.randrange(0, 6)}
        else:
            body = {"model": "x", "prompt": prompt, "echo": False, "logprobs": 2}
        pool.append(("POST", "/v1/completions", json.dumps(body)))
    return pool


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def load(args, host, port):
    rng = random.Random(args.seed)
    pool = request_pool(rng, args.pool, args.max_prompt)
    serial = []
    c = Client(host, port, args.key)
    t0 = time.time()
    for method, path, body in pool:
        status, data = c.request(method, path, body)
        if status != 200:
            sys.exit(f"FAIL: serial {method} {path}: HTTP {status}: {data[:300]!r}")
        serial.append(canonical(data))
    serial_s = time.time() - t0
    rss_base = rss_kb(args.pid) if args.pid else 0
    # A share of the requests are the cheap GETs (pool[0], pool[1]); the rest score prompts on the engine.
    plan = [rng.randrange(2) if rng.random() < args.cheap_share else rng.randrange(2, len(pool))
            for _ in range(args.requests)]

    lock = threading.Lock()
    next_i = [0]
    latencies, failures = [], []
    peak = [rss_base]
    done = threading.Event()

    def sampler():
        while not done.wait(0.05):
            if args.pid:
                peak[0] = max(peak[0], rss_kb(args.pid))

    def worker():
        cl = Client(host, port, args.key)
        while True:
            with lock:
                if next_i[0] >= len(plan):
                    return
                k = plan[next_i[0]]
                next_i[0] += 1
            method, path, body = pool[k]
            t = time.perf_counter()
            try:
                status, data = cl.request(method, path, body)
            except Exception as e:  # noqa: BLE001 - every failure is reported
                with lock:
                    failures.append(f"{method} {path}: {e!r}")
                continue
            dt = time.perf_counter() - t
            with lock:
                latencies.append((method == "POST", dt))
                if status != 200:
                    failures.append(f"{method} {path}: HTTP {status}: {data[:200]!r}")
                elif canonical(data) != serial[k]:
                    failures.append(f"{method} {path}: an answer differs from the serial one")

    threading.Thread(target=sampler, daemon=True).start()
    t0 = time.time()
    threads = [threading.Thread(target=worker) for _ in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.time() - t0
    done.set()
    if args.pid:
        peak[0] = max(peak[0], rss_kb(args.pid))
    engine = sum(1 for k in plan if pool[k][0] == "POST")

    def pct(xs, q):
        xs = sorted(xs)
        return round(1000 * xs[min(len(xs) - 1, int(q * len(xs)))], 1) if xs else None

    lat = sorted(dt for _, dt in latencies)
    lat_engine = [dt for post, dt in latencies if post]
    lat_cheap = [dt for post, dt in latencies if not post]
    res = {
        "clients": args.clients, "requests": len(plan), "engine_requests": engine, "distinct": len(pool),
        "serial_pass_s": round(serial_s, 2), "wall_s": round(wall, 2),
        "throughput_rps": round(len(plan) / wall, 2), "engine_rps": round(engine / wall, 2),
        "p50_ms": pct(lat, 0.5), "p99_ms": pct(lat, 0.99), "max_ms": pct(lat, 1.0),
        "engine_p50_ms": pct(lat_engine, 0.5), "engine_p99_ms": pct(lat_engine, 0.99),
        "get_p50_ms": pct(lat_cheap, 0.5), "get_p99_ms": pct(lat_cheap, 0.99),
        "serial_ms_per_request": round(1000 * serial_s / max(1, len(pool)), 1),
        "rss_after_serial_mib": round(rss_base / 1024, 1), "rss_peak_mib": round(peak[0] / 1024, 1),
        "mismatches_or_errors": len(failures),
    }
    print(json.dumps(res))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    for f in failures[:10]:
        print("FAIL:", f, file=sys.stderr)
    if failures:
        sys.exit(f"FAIL: {len(failures)} of {len(plan)} answers failed or differed from the serial ones")
    if args.max_rss_growth_mib is not None and args.pid:
        growth = (peak[0] - rss_base) / 1024
        if growth > args.max_rss_growth_mib:
            sys.exit(f"FAIL: the server grew by {growth:.0f} MiB under load (bound {args.max_rss_growth_mib})")
    print(f"ok: {len(plan)} requests from {args.clients} clients, every answer the serial one; "
          f"{res['throughput_rps']} requests/s, p50 {res['p50_ms']} ms, p99 {res['p99_ms']} ms, "
          f"RSS {res['rss_after_serial_mib']} -> peak {res['rss_peak_mib']} MiB")


# --- attack ---

def raw(host, port, data, read_timeout=30, pause_after=None):
    """Sends bytes on a fresh socket and returns (status, headers+body text, seconds until the answer)."""
    s = socket.create_connection((host, port), timeout=read_timeout)
    t = time.time()
    try:
        s.sendall(data)
        if pause_after:
            pause_after(s)
        chunks = []
        while True:
            try:
                b = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not b:
                break
            chunks.append(b)
    finally:
        s.close()
    text = b"".join(chunks).decode("utf-8", "replace")
    status = int(text.split(" ", 2)[1]) if text.startswith("HTTP/1.") else 0
    return status, text, time.time() - t


def expect(name, status, text, want_status, want_in_message=None):
    if status != want_status:
        sys.exit(f"FAIL: {name}: HTTP {status}, expected {want_status}: {text[:400]!r}")
    body = text.split("\r\n\r\n", 1)[1] if "\r\n\r\n" in text else text
    try:
        msg = json.loads(body)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        sys.exit(f"FAIL: {name}: the {status} answer has no JSON error message: {body[:300]!r}")
    if want_in_message and want_in_message not in msg:
        sys.exit(f"FAIL: {name}: message {msg!r} lacks {want_in_message!r}")
    print(f"ok: {name}: {status} {msg[:110]}")


def post_bytes(body, headers=b"", path=b"/v1/completions", key=None):
    auth = b"Authorization: Bearer " + key.encode() + b"\r\n" if key else b""
    return (b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + auth + headers +
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


def attack(args, host, port):
    key = args.key
    good = json.dumps({"prompt": [1, 9690, 198, 2683, 359, 253], "max_tokens": 1, "echo": True,
                       "logprobs": True, "top_logprobs": 2})
    ref = Client(host, port, key)
    status, data = ref.request("POST", "/v1/completions", good)
    assert status == 200, (status, data)
    want = canonical(data)

    # A well-behaved client asks the same thing over and over while the attacks run.
    stop = threading.Event()
    honest = {"ok": 0, "bad": []}

    def honest_client():
        c = Client(host, port, key)
        while not stop.is_set():
            st, d = c.request("POST", "/v1/completions", good)
            if st == 200 and canonical(d) == want:
                honest["ok"] += 1
            else:
                honest["bad"].append((st, d[:200]))
            time.sleep(0.05)

    th = threading.Thread(target=honest_client, daemon=True)  # a failing check must not wait for it
    th.start()
    t_attack = time.time()

    big = args.max_body + 1
    st, text, _ = raw(host, port, b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
                      (b"Authorization: Bearer " + key.encode() + b"\r\n" if key else b"") +
                      b"Content-Length: " + str(big).encode() + b"\r\n\r\n" + b"[" * 1024)
    expect("a body over the limit (refused before it is read)", st, text, 413, "larger than")
    st, text, _ = raw(host, port, post_bytes(b"{}", headers=b"X-Big: " + b"a" * 20000 + b"\r\n", key=key))
    expect("a 20000-byte header line", st, text, 431, "headers")
    st, text, _ = raw(host, port, post_bytes(b"{}", headers=b"".join(b"X-%d: 1\r\n" % i for i in range(150)), key=key))
    expect("150 header fields", st, text, 431, "headers")

    def dribble(s, n=40, every=0.25):
        """One byte every `every` seconds until the server answers (then stop sending and read)."""
        for _ in range(n):
            readable, _, _ = select.select([s], [], [], every)
            if readable:
                return
            try:
                s.sendall(b" ")
            except OSError:
                return

    # Headers complete, then the body one byte every 0.25 s: cut at the request timeout with 408.
    head = post_bytes(b"", key=key).replace(b"Content-Length: 0", b"Content-Length: 100")
    st, text, secs = raw(host, port, head, pause_after=dribble)
    expect("a slow body (one byte every 0.25 s)", st, text, 408, "did not arrive within")
    if secs > args.request_timeout + 3:
        sys.exit(f"FAIL: the slow sender was cut after {secs:.1f} s (timeout {args.request_timeout} s)")
    # Slowloris: the headers themselves one byte at a time.
    st, text, secs = raw(host, port, b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nX-Slow: ",
                         pause_after=lambda s: dribble(s, 80, 0.25))
    # Cut at the timeout is what matters; the header line the timeout interrupts may be answered as malformed
    # (431) instead of late (408), depending on where the read stopped.
    if st not in (0, 408, 431) or secs > args.request_timeout + 3:
        sys.exit(f"FAIL: slow headers: HTTP {st} after {secs:.1f} s: {text[:200]!r}")
    print(f"ok: slow headers (one byte every 0.25 s): {st or 'closed'} after {secs:.1f} s")

    cases = [
        ("malformed JSON", b'{"prompt": [1, 2', 400, "not valid JSON"),
        ("invalid UTF-8 in a string", b'{"prompt": [1, 2], "model": "\xff\xfe"}', 400, "not valid JSON"),
        ("a body that is not an object", b'[1, 2, 3]', 400, "must be a JSON object"),
        ("text instead of ids", b'{"prompt": "hello"}', 400, "token ids"),
        ("an id outside the vocabulary", b'{"prompt": [1, 49152]}', 400, "outside the model's vocabulary"),
        ("a negative id", b'{"prompt": [1, -5]}', 400, "outside the model's vocabulary"),
        ("a huge id", b'{"prompt": [1, 18446744073709551615]}', 400, "outside the model's vocabulary"),
        ("a float id", b'{"prompt": [1, 2.5]}', 400, "expected a token id"),
        ("a prompt past the context", json.dumps({"prompt": [1] * (args.ctx + 1)}).encode(), 400,
         "exceed the context"),
        ("top_logprobs out of range", b'{"prompt": [1, 2], "logprobs": true, "top_logprobs": 100000}', 400,
         "outside"),
        ("streaming", b'{"prompt": [1, 2], "stream": true}', 400, "stream"),
        ("an unknown route", None, 404, "no route"),
    ]
    for name, body, want_status, needle in cases:
        if body is None:
            data = b"GET /v2/nothing HTTP/1.1\r\nHost: x\r\n" + (
                b"Authorization: Bearer " + key.encode() + b"\r\n" if key else b"") + b"\r\n"
        else:
            data = post_bytes(body, key=key)
        st, text, _ = raw(host, port, data)
        expect(name, st, text, want_status, needle)

    # A prompt that fills the context: more engine time than the limit, stopped, and the engine serves on.
    hold = json.dumps({"prompt": [1] + [random.Random(7).randrange(N_VOCAB) for _ in range(args.ctx - 2)],
                       "prompt_logprobs": 1}).encode()
    st, text, secs = raw(host, port, post_bytes(hold, key=key), read_timeout=300)
    expect(f"a {args.ctx - 1}-token prompt that would hold the engine", st, text, 413, "s of engine time")
    print(f"   (answered after {secs:.1f} s with --engine-timeout {args.engine_timeout})")

    if key:
        st, text, _ = raw(host, port, post_bytes(good.encode()))
        expect("no bearer key", st, text, 401, "Authorization")
        st, text, _ = raw(host, port, post_bytes(good.encode(), key=key[:-1] + "x"))
        expect("a wrong bearer key", st, text, 401, "not this server's")
        st, text, _ = raw(host, port, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        if st != 200:
            sys.exit(f"FAIL: /health needs no key, got HTTP {st}")
        print("ok: /health answers without the key")

    time.sleep(0.5)
    stop.set()
    th.join()
    if honest["bad"] or honest["ok"] < 5:
        sys.exit(f"FAIL: the well-behaved client got {honest['ok']} right answers and these wrong ones: "
                 f"{honest['bad'][:3]}")
    print(f"ok: a well-behaved client got all {honest['ok']} of its answers right during "
          f"{time.time() - t_attack:.0f} s of attacks")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["load", "attack"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--key", default=None, help="bearer key the server was started with")
    ap.add_argument("--pid", type=int, default=0, help="the server's pid, for its memory")
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--pool", type=int, default=60, help="distinct requests")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cheap-share", type=float, default=0.5, help="share of GET /health and /v1/models")
    ap.add_argument("--max-prompt", type=int, default=24, help="longest prompt of the pool, in tokens")
    ap.add_argument("--json", default=None)
    ap.add_argument("--max-rss-growth-mib", type=float, default=None)
    ap.add_argument("--ctx", type=int, default=8192, help="the server's context")
    ap.add_argument("--max-body", type=int, default=4 << 20, help="the server's --max-body-bytes")
    ap.add_argument("--request-timeout", type=float, default=30.0)
    ap.add_argument("--engine-timeout", type=float, default=300.0)
    args = ap.parse_args()
    (load if args.mode == "load" else attack)(args, args.host, args.port)


if __name__ == "__main__":
    main()
