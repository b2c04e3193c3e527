"""A small OpenAI-compatible chat completions server on loopback, driven by a script of replies.

GET /v1/models lists ``models``. Each request to /v1/chat/completions takes the next scripted reply: an answer
(streamed as SSE when the request asks for ``stream``, with or without
logprobs), an HTTP error with a body like OpenAI's, or a hang (nothing is sent
until the server stops, so the client's timeout fires). A streamed answer can
also break off after some tokens: the connection drops, or the stream stalls
there; it can end with another finish reason than ``stop`` (``length``,
``content_filter``), and its tokens can carry anything JSON can (NUL, lone
surrogates, NaN or infinite logprobs). A raw reply sends bytes as they are
(bodies that are not JSON, malformed SSE events, bytes that are not UTF-8).
With no reply left, every request gets the ``exhausted`` reply (a 500 unless
set otherwise), so a server that keeps failing takes one line. Requests are
recorded.
"""

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Answer:
    tokens: list[tuple[str, float]]
    logprobs: bool = True
    reject_logprobs: bool = False  # 400 naming logprobs when they are asked for, like some local servers
    model: str = "fake-model"
    break_after: int | None = None  # a streamed answer stops after this many tokens...
    stall: bool = False  # ...and then hangs (True) or drops the connection (False)
    finish_reason: str = "stop"


@dataclass
class Failure:
    status: int
    message: str
    code: str | None = None


@dataclass
class Hang:
    pass


@dataclass
class Raw:
    body: bytes
    status: int = 200
    content_type: str = "text/event-stream"


def sse(*events: dict | bytes) -> bytes:
    """Server-sent events: each dict as JSON (NaN written as JSON cannot), bytes as they are; then [DONE]."""
    lines = [b"data: " + (event if isinstance(event, bytes) else json.dumps(event).encode()) for event in events]
    return b"".join(line + b"\n\n" for line in [*lines, b"data: [DONE]"])


def chunk(content: str | None = None, finish_reason: str | None = None) -> dict:
    """One chat completion chunk as a server streams it."""
    delta = {} if content is None else {"content": content}
    choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
    return {"id": "cmpl-1", "object": "chat.completion.chunk", "created": 0, "model": "fake-model", "choices": [choice]}


@dataclass
class FakeOpenAI:
    script: deque = field(default_factory=deque)
    requests: list[dict] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    base_url: str = ""
    exhausted: object = field(default_factory=lambda: Failure(500, "the fake server has no scripted reply left"))
    models: list[str] = field(default_factory=lambda: ["fake-model"])  # what GET /v1/models lists

    def answer(self, text_or_tokens, **options) -> None:
        tokens = text_or_tokens if isinstance(text_or_tokens, list) else [(text_or_tokens, -0.01)]
        self.script.append(Answer(tokens=tokens, **options))

    def fail(self, status: int, message: str, code: str | None = None) -> None:
        self.script.append(Failure(status, message, code))

    def hang(self) -> None:
        self.script.append(Hang())

    def raw(self, body: bytes, **options) -> None:
        self.script.append(Raw(body, **options))


def confident(text: str, logprob: float = -0.01) -> list[tuple[str, float]]:
    """The text as word tokens (spaces kept), each with the same logprob."""
    words = text.split(" ")
    return [(word if i == 0 else " " + word, logprob) for i, word in enumerate(words)]


def _handler(fake: FakeOpenAI):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _json(self, status: int, payload: dict) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path != "/v1/models":
                self._json(404, {"error": {"message": f"no route {self.path}"}})
                return
            listed = [{"id": name, "object": "model", "created": 0, "owned_by": "fake"} for name in fake.models]
            self._json(200, {"object": "list", "data": listed})

        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            request = json.loads(self.rfile.read(length) or b"{}")
            request["_authorization"] = self.headers.get("Authorization", "")
            fake.requests.append(request)
            if self.path != "/v1/chat/completions":
                self._json(404, {"error": {"message": f"no route {self.path}"}})
                return
            reply = fake.script.popleft() if fake.script else fake.exhausted
            if isinstance(reply, Hang):
                fake.release.wait(60)
                return
            if isinstance(reply, Raw):
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
                return
            if isinstance(reply, Failure):
                self._json(reply.status, {"error": {"message": reply.message, "type": "error", "code": reply.code}})
                return
            if reply.reject_logprobs and request.get("logprobs"):
                # Served again, without logprobs, on the client's next request.
                fake.script.appendleft(Answer(tokens=reply.tokens, logprobs=False, model=reply.model))
                self._json(400, {"error": {"message": "logprobs is not supported by this server", "code": None}})
                return
            with_logprobs = reply.logprobs and bool(request.get("logprobs"))
            if request.get("stream"):
                self._stream(reply, with_logprobs)
            else:
                self._whole(reply, with_logprobs)

        def _logprobs(self, tokens):
            items = [
                {"token": t, "logprob": lp, "bytes": list(t.encode(errors="replace")), "top_logprobs": []}
                for t, lp in tokens
            ]
            return {"content": items}

        def _whole(self, reply: Answer, with_logprobs: bool) -> None:
            text = "".join(token for token, _ in reply.tokens)
            choice = {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": reply.finish_reason,
                "logprobs": self._logprobs(reply.tokens) if with_logprobs else None,
            }
            self._json(
                200,
                {"id": "cmpl-1", "object": "chat.completion", "created": 0, "model": reply.model, "choices": [choice]},
            )

        def _stream(self, reply: Answer, with_logprobs: bool) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            base = {"id": "cmpl-1", "object": "chat.completion.chunk", "created": 0, "model": reply.model}
            first = {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
            self._event({**base, "choices": [first]})
            for sent, (token, logprob) in enumerate(reply.tokens):
                if sent == reply.break_after:
                    if reply.stall:
                        fake.release.wait(60)
                    self.close_connection = True
                    return
                choice = {"index": 0, "delta": {"content": token}, "finish_reason": None}
                if with_logprobs:
                    choice["logprobs"] = self._logprobs([(token, logprob)])
                self._event({**base, "choices": [choice]})
            self._event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": reply.finish_reason}]})
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()

        def _event(self, payload: dict) -> None:
            self.wfile.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
            self.wfile.flush()

    return Handler


def start(fake: FakeOpenAI) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    return server
