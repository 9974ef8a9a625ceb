#!/usr/bin/env python3
"""An OpenAI-compatible chat-completions endpoint imitating OpenRouter, with faults on request.

Usage: fault_server.py PORT_FILE [REQUIRED_KEY]

Binds 127.0.0.1 on a free port and writes the port to PORT_FILE. The last user message of a request
chooses its fate with directives (each fault is served only the first N times that message is asked):
  fault:429xN     HTTP 429 with Retry-After: 1
  fault:500xN     HTTP 500
  fault:stall     no answer for 4 s (past the client's timeout)
  fault:truncate  the connection closes in the middle of the body (Content-Length promises more)
  fault:cutjson   a complete HTTP answer whose JSON stops in the middle
  fault:malformed a complete HTTP answer with a syntax error in the JSON
  fault:provider  a valid answer from another provider ("Together") than the pinned one
  slow            the answer comes after 0.4 s (every time)
  think           the answer carries "reasoning" beside the content (OpenRouter's shape)
  ids             the answer carries llama-server-style logprobs whose token ids (1, 2, 3) do not spell it
Otherwise the answer is a fixed sentence, with "provider" set to the pinned provider's display name.
When REQUIRED_KEY is given, requests without "Authorization: Bearer REQUIRED_KEY" get 401 with the header
echoed in the body (so a client that printed error bodies would leak its key).
GET /stats returns, per message, the number of requests, valid answers served and request times.
"""
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler

from loopback import serve_on_free_port

LOCK = threading.Lock()
STATS = {}  # message -> {"requests": n, "ok": n, "times": [...]}
REQUIRED_KEY = sys.argv[2] if len(sys.argv) > 2 else None
DIRECTIVE = re.compile(r"fault:([a-z]+|\d{3})(?:x(\d+))?")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the test reads /stats instead
        pass

    def send(self, status, body, headers=None, length=None):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data) if length is None else length))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout) or was killed
            self.close_connection = True

    def do_GET(self):
        if self.path.endswith("/stats"):
            with LOCK:
                self.send(200, json.dumps(STATS))
        else:
            self.send(404, '{"error": {"message": "not found"}}')

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if not self.path.endswith("/chat/completions"):
            return self.send(404, '{"error": {"message": "not found"}}')
        auth = self.headers.get("Authorization", "")
        if REQUIRED_KEY is not None and auth != f"Bearer {REQUIRED_KEY}":
            return self.send(401, json.dumps({"error": {"message": f"bad key in header: {auth!r}"}}))
        req = json.loads(body)
        text = [m["content"] for m in req["messages"] if m["role"] == "user"][-1]
        with LOCK:
            st = STATS.setdefault(text, {"requests": 0, "ok": 0, "times": []})
            st["requests"] += 1
            st["times"].append(time.time())
            n = st["requests"]
        if "slow" in text.split():
            time.sleep(0.4)
        for name, count in DIRECTIVE.findall(text):
            if n > int(count or 1):
                continue
            if name in ("429", "500"):
                return self.send(int(name), '{"error": {"message": "injected %s"}}' % name,
                                 {"Retry-After": "1"} if name == "429" else None)
            if name == "stall":
                time.sleep(4)
                return self.send(500, '{"error": {"message": "too late"}}')
            if name == "truncate":
                full = answer(req, text, "x")
                self.send(200, full[: len(full) // 2], length=len(full))
                self.close_connection = True
                return
            if name == "cutjson":
                full = answer(req, text, "x")
                return self.send(200, full[: len(full) // 2])
            if name == "malformed":
                return self.send(200, '{"choices": [{"message": {"content": "x"}},,]}')
            if name == "provider":
                return self.send(200, answer(req, text, "Together"))
        pinned = (req.get("provider") or {}).get("only", ["fault"])[0]
        out = answer(req, text, pinned.split("/")[0].capitalize())
        with LOCK:
            st["ok"] += 1
        self.send(200, out)


def answer(req, text, provider):
    message = {"role": "assistant", "content": f"You said: {text}. That is a fine thing to say."}
    if "think" in text.split():
        message["reasoning"] = "The user wants a short reply."
        message["content"] = "Short reply."
    choice = {"index": 0, "finish_reason": "stop", "logprobs": None, "message": message}
    if "ids" in text.split():
        choice["logprobs"] = {"content": [{"id": i, "token": "?", "logprob": -0.5} for i in (1, 2, 3)]}
    return json.dumps({
        "id": "gen-fault", "provider": provider, "model": req.get("model", ""), "object": "chat.completion",
        "created": int(time.time()),
        "choices": [choice],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    })


def main():
    serve_on_free_port(Handler, sys.argv[1])


if __name__ == "__main__":
    main()
