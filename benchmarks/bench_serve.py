"""Serving speed: throughput and the router's added latency, on loopback, bounded in time.

A KNN router on TF-IDF features (fitted on the synthetic default benchmark, saved as an
artifact) is served by ``routerbench serve`` in its own process in front of an
instant OpenAI-compatible upstream (another process); a small keep-alive load generator
in this process drives both. "Added" latency is the path through the router minus the
direct path to the same upstream under the same load, so it counts everything the
router does: HTTP parsing, the decision, forwarding, and relaying the answer.

Two kinds of load. Throughput is closed-loop (32 keep-alive connections, each sending its
next request as soon as the last one is answered): the most the server does per second.
Latency is open-loop at a fixed arrival rate (Poisson arrivals at 500 requests/s, the
throughput target): a request's clock starts at its scheduled time, so time spent waiting
for a free connection counts (no coordinated omission), and the server is measured at the
load it is meant to carry, not past saturation. A closed loop at concurrency 8 is also
printed, for information: there every request queues behind the others by construction,
so its "added latency" is about 8 x the server's CPU time per request, whatever the router.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HOST = "127.0.0.1"
N_MODELS_SCALE = 0.05  # synthetic default at 5 %: ~2.5k training prompts, 11 models
THROUGHPUT_REQUESTS = 4000
LATENCY_REQUESTS = 1500
LATENCY_RATE = 500.0  # requests/s, Poisson arrivals: the throughput target
OPEN_CONNECTIONS = 64  # the open-loop generator's keep-alive connections
TIME_LIMIT_S = 20.0
WORKERS = int(os.environ.get("ROUTERBENCH_BENCH_SERVE_WORKERS", "1"))
DECIDE_IN = os.environ.get("ROUTERBENCH_BENCH_SERVE_DECIDE_IN", "auto")  # or process / thread

# --------------------------------------------------------------------- upstream
_COMPLETION = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1,
        "model": "bench",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 1, "total_tokens": 13},
    }
).encode()


def _chunk(delta: dict, finish: str | None = None, **extra) -> bytes:
    body = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "bench",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    body.update(extra)
    return b"data: " + json.dumps(body).encode() + b"\n\n"


_EVENTS = [
    _chunk({"role": "assistant", "content": ""}),
    _chunk({"content": "o"}),
    _chunk({"content": "k"}),
    _chunk({}, "stop"),
]
_USAGE = (
    b"data: "
    + json.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "bench",
            "choices": [],
            "usage": {"prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14},
        }
    ).encode()
    + b"\n\n"
)


async def instant_upstream(scope, receive, send) -> None:
    """A raw ASGI OpenAI-compatible upstream that answers at once (no framework overhead)."""
    if scope["type"] == "lifespan":
        while True:
            msg = await receive()
            await send({"type": msg["type"] + ".complete"})
            if msg["type"] == "lifespan.shutdown":
                return
    body = b""
    more = True
    while more:
        msg = await receive()
        body += msg.get("body", b"")
        more = msg.get("more_body", False)
    if scope["path"].endswith("/models"):
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"object":"list","data":[]}'})
        return
    if b'"stream":true' not in body:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(_COMPLETION)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": _COMPLETION})
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/event-stream")],
        }
    )
    events = list(_EVENTS)
    if b'"include_usage":true' in body:
        events.append(_USAGE)
    events.append(b"data: [DONE]\n\n")
    for ev in events:
        await send({"type": "http.response.body", "body": ev, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


# ---------------------------------------------------------------- load generator
async def _read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], float]:
    """Read one HTTP/1.1 response; return status, headers and the time of its first body byte."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if line:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
    first = time.perf_counter()
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
        return status, headers, first
    got_first = False
    while True:
        size = int((await reader.readuntil(b"\r\n")).strip(), 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return status, headers, first
        await reader.readexactly(size + 2)
        if not got_first:
            first, got_first = time.perf_counter(), True


def _request(port: int, body: dict) -> bytes:
    data = json.dumps(body).encode()
    return (
        f"POST /v1/chat/completions HTTP/1.1\r\nhost: {HOST}:{port}\r\n"
        f"content-type: application/json\r\ncontent-length: {len(data)}\r\n\r\n"
    ).encode() + data


@dataclass
class Load:
    """What one load run measured, per successful request (seconds)."""

    latency: np.ndarray
    ttft: np.ndarray
    overhead: np.ndarray
    decision: np.ndarray
    failed: int
    wall: float


class _Recorder:
    """What the load drivers measure per request, from the time the request's clock started."""

    def __init__(self) -> None:
        self.latency: list[float] = []
        self.ttft: list[float] = []
        self.overhead: list[float] = []
        self.decision: list[float] = []
        self.failed = 0

    async def send(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, req: bytes, t0: float
    ) -> None:
        writer.write(req)
        status, headers, first = await _read_response(reader)
        done = time.perf_counter()
        if status != 200:
            self.failed += 1
            return
        self.latency.append(done - t0)
        self.ttft.append(first - t0)
        if "x-routerbench-overhead-ms" in headers:
            self.overhead.append(float(headers["x-routerbench-overhead-ms"]) / 1000)
            self.decision.append(float(headers["x-routerbench-decision-ms"]) / 1000)

    def load(self, wall: float) -> Load:
        return Load(
            np.array(self.latency),
            np.array(self.ttft),
            np.array(self.overhead),
            np.array(self.decision),
            self.failed,
            wall,
        )


async def _drive(port: int, requests: list[bytes], concurrency: int, time_limit_s: float):
    """Closed-loop load: `concurrency` keep-alive connections share `requests`."""
    rec = _Recorder()
    it = iter(requests)
    deadline = time.perf_counter() + time_limit_s

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            for req in it:
                if time.perf_counter() > deadline:
                    return
                await rec.send(reader, writer, req, time.perf_counter())
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return rec.load(time.perf_counter() - start)


def drive(port, requests, concurrency, time_limit_s=TIME_LIMIT_S):
    return asyncio.run(_drive(port, requests, concurrency, time_limit_s))


async def _drive_open(
    port: int, requests: list[bytes], rate: float, connections: int, seed: int
) -> Load:
    """Open-loop load: request i is due at a seeded Poisson arrival time at `rate` per second.

    Latency and time to first byte run from the request's *due* time, so a request that
    waits for one of the `connections` to come free is charged for the wait.
    """
    gaps = np.random.default_rng(seed).exponential(1.0 / rate, size=len(requests))
    due_offsets = np.cumsum(gaps)
    rec = _Recorder()
    next_index = 0
    start = time.perf_counter() + 0.05

    async def worker() -> None:
        nonlocal next_index
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            while next_index < len(requests):
                i = next_index
                next_index += 1
                due = start + due_offsets[i]
                wait = due - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
                await rec.send(reader, writer, requests[i], due)
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return rec.load(time.perf_counter() - start)


def drive_open(port, requests, rate=LATENCY_RATE, connections=OPEN_CONNECTIONS, seed=0):
    return asyncio.run(_drive_open(port, requests, rate, connections, seed))


# ------------------------------------------------------------------- processes
def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _wait_http(port: int, path: str, proc: subprocess.Popen, timeout_s: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process on port {port} exited with {proc.returncode}")
        try:
            if httpx.get(f"http://{HOST}:{port}{path}", timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answered on port {port} within {timeout_s} s")


def _train(tmp: Path):
    from routerbench.data.splits import paper_split
    from routerbench.data.synthetic import make_default
    from routerbench.routers import KNNRouter
    from routerbench.routers.artifact import save_router

    bench = make_default(scale=N_MODELS_SCALE)
    split = paper_split(bench)
    train, test = split.train, split.test
    router = KNNRouter(n_neighbors=10, embedder="tfidf-svd").fit(train)
    path = save_router(router, tmp / "knn.router", train=train)
    return path, list(bench.models), list(test.prompts["prompt"])


def rank_prompts_cost(emit, artifact: Path, prompts: list[str], repeats: int = 400) -> None:
    """The router's own fixed cost: `rank_prompts` on 1 and 8 prompts of the loaded artifact.

    Timed as the server runs it (one BLAS thread, the artifact loaded from disk), median
    over `repeats` calls on rotating prompts, so a busy machine's outliers do not count.
    """
    from threadpoolctl import threadpool_limits

    from routerbench.routers.artifact import load_router

    router = load_router(artifact)
    with threadpool_limits(limits=1):
        for n, target in ((1, 2.0), (8, None)):
            router.rank_prompts(prompts[:n], 0.01)  # warm: builds the cached unit rows
            times = []
            for r in range(repeats):
                batch = [prompts[(r * n + i) % len(prompts)] for i in range(n)]
                t0 = time.perf_counter()
                router.rank_prompts(batch, 0.01)
                times.append(time.perf_counter() - t0)
            ms = float(np.median(times)) * 1000
            if target is None:
                emit(f"rank_prompts_{n}_prompts_knn", ms, "ms", "informative")
            else:
                emit(f"rank_prompts_{n}_prompt_knn", ms, "ms", f"<= {target:g} ms", ms <= target)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run(emit) -> None:
    procs: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="routerbench-bench-serve-") as tmpdir:
        tmp = Path(tmpdir)
        try:
            artifact, models, prompts = _train(tmp)
            rank_prompts_cost(emit, artifact, prompts)
            up_port, rb_port = _free_port(), _free_port()
            env = {
                **os.environ,
                "OMP_NUM_THREADS": "1",
                "OPENBLAS_NUM_THREADS": "1",
                "MKL_NUM_THREADS": "1",
            }
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-c",
                        "import sys, uvicorn; sys.path.insert(0, sys.argv[1]); "
                        "uvicorn.run('bench_serve:instant_upstream', host='127.0.0.1', "
                        "port=int(sys.argv[2]), log_level='warning', access_log=False, "
                        "lifespan='on')",
                        str(Path(__file__).parent),
                        str(up_port),
                    ],
                    env=env,
                )
            )
            lines = ["models:"]
            for m in models:
                lines += [
                    f"  - name: {json.dumps(m)}",
                    f"    base_url: http://{HOST}:{up_port}/v1",
                    "    model: bench",
                    "    max_concurrency: 256",
                    "    price: {input_per_mtok: 1, output_per_mtok: 2, source: bench, "
                    "date: 2026-12-01}",
                ]
            (tmp / "models.yaml").write_text("\n".join(lines) + "\n")
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-c",
                        "from routerbench.cli import app; app()",
                        "serve",
                        str(artifact),
                        "--models",
                        str(tmp / "models.yaml"),
                        "--port",
                        str(rb_port),
                        "--workers",
                        str(WORKERS),
                        "--wtp",
                        "0.01",
                        "--decide-in",
                        DECIDE_IN,
                    ],
                    env=env,
                    stdout=subprocess.DEVNULL,
                )
            )
            _wait_http(up_port, "/v1/models", procs[0])
            _wait_http(rb_port, "/health", procs[1])
            rng = np.random.default_rng(0)
            picks = rng.choice(len(prompts), size=THROUGHPUT_REQUESTS)

            def reqs(port, model, stream, n):
                return [
                    _request(
                        port,
                        {
                            "model": model,
                            "stream": stream,
                            "messages": [{"role": "user", "content": prompts[i]}],
                        },
                    )
                    for i in picks[:n]
                ]

            drive(rb_port, reqs(rb_port, "router", False, 200), 8)  # warm-up
            drive(up_port, reqs(up_port, "bench", False, 200), 8)

            load = drive(rb_port, reqs(rb_port, "router", False, THROUGHPUT_REQUESTS), 32)
            rps = load.latency.size / load.wall
            emit(
                "serve_throughput",
                rps,
                "req/s",
                f">= 500 on 2 cores, {WORKERS} worker(s), decide in {DECIDE_IN}",
                rps >= 500,
            )
            emit("serve_failed_requests", load.failed, "requests", "0", load.failed == 0)
            emit(
                "serve_decision_p50_at_load",
                np.median(load.decision) * 1000,
                "ms",
                "informative: rank_prompts incl. queueing, 32 connections",
            )

            rate = f"{LATENCY_RATE:g} req/s Poisson"
            direct = drive_open(up_port, reqs(up_port, "bench", False, LATENCY_REQUESTS))
            routed = drive_open(rb_port, reqs(rb_port, "router", False, LATENCY_REQUESTS))
            p50 = (np.percentile(routed.latency, 50) - np.percentile(direct.latency, 50)) * 1000
            p99 = (np.percentile(routed.latency, 99) - np.percentile(direct.latency, 99)) * 1000
            emit("serve_added_latency_p50", p50, "ms", f"<= 3 (at {rate})", p50 <= 3)
            emit("serve_added_latency_p99", p99, "ms", f"<= 15 (at {rate})", p99 <= 15)
            emit(
                "serve_latency_p50_direct_routed",
                np.percentile(routed.latency, 50) * 1000,
                "ms",
                f"informative: direct {np.percentile(direct.latency, 50) * 1000:.3g} ms",
            )
            emit(
                "serve_overhead_p50",
                np.median(routed.overhead) * 1000,
                "ms",
                "informative: server-measured, request time minus upstream time",
            )
            emit(
                "serve_decision_p50",
                np.median(routed.decision) * 1000,
                "ms",
                "informative: of which the router's decision",
            )
            failed = direct.failed + routed.failed
            emit("serve_latency_failed_requests", failed, "requests", "0", failed == 0)

            d_stream = drive_open(up_port, reqs(up_port, "bench", True, LATENCY_REQUESTS))
            r_stream = drive_open(rb_port, reqs(rb_port, "router", True, LATENCY_REQUESTS))
            added = (np.percentile(r_stream.ttft, 50) - np.percentile(d_stream.ttft, 50)) * 1000
            emit("serve_stream_added_ttft_p50", added, "ms", f"<= 5 (at {rate})", added <= 5)
            failed = d_stream.failed + r_stream.failed
            emit("serve_stream_failed_requests", failed, "requests", "0", failed == 0)

            conc = 8  # saturated: every request queues behind the other seven by construction
            direct = drive(up_port, reqs(up_port, "bench", False, LATENCY_REQUESTS), conc)
            routed = drive(rb_port, reqs(rb_port, "router", False, LATENCY_REQUESTS), conc)
            p50 = (np.percentile(routed.latency, 50) - np.percentile(direct.latency, 50)) * 1000
            emit(
                "serve_added_latency_p50_closed_loop",
                p50,
                "ms",
                f"informative: concurrency {conc}, closed loop at "
                f"{routed.latency.size / routed.wall:.0f} req/s",
            )
        finally:
            for p in procs:
                _stop(p)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    from run import make_emit

    run(make_emit([]))
