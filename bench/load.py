"""Load benchmark of the JSON API: one client, then 20 and 50 concurrent clients, on a server it starts itself.

    python bench/load.py [--models-dir models] [--model NAME] [--clients 20,50] [--seconds 30]
                         [--baseline-seconds 10] [--chars 2000] [--units one|all] [--uvicorn-workers 1]
                         [--endpoint activations|interventions] [--json PATH]

What it does, in one run:
  1. starts `uvicorn app.main:app` in a subprocess on a free port of 127.0.0.1 (never any
     other address), with CELLX_MODELS_DIR=--models-dir, and waits for GET /healthz;
  2. picks the model (--model, default: the first one GET /api/models lists) and builds
     --chars-character texts: slices of the model's sample.txt when it has one, else
     random text over its vocabulary;
  3. first line, idle: five streamed requests (POST /api/activations/stream) one after another,
     timing the arrival of the first character line;
  4. baseline: one client sends POST /api/activations (or, with --endpoint interventions, POST
     /api/interventions) sequentially for --baseline-seconds;
  5. load: for each count in --clients, that many concurrent clients (one httpx.AsyncClient and
     connection each) send the same kind of request back to back for --seconds, while a probe
     times a streamed request's first character line once a second;
  6. stops the server (also on Ctrl-C or SIGTERM) and prints, for each phase: requests/s,
     characters/s, p50/p90/p99 latency, errors, 503s, the CPU seconds the server and this
     client used, and the speed-up = requests/s with N clients / requests/s with one client.

Each request: {"model", "text", "units": [0] (or null for every unit with --units all),
"topk": 5}, default layer (the last) and state ("c" for an LSTM, "h" otherwise), default
bits (on). With --endpoint interventions it also carries "interventions": unit 0 of that state
zeroed from the middle of the text on (so each answer is the text read twice: plainly, and with
the unit ablated for its second half). An error is any non-200 answer other than a 503 with Retry-After, a response
without one value row per character, or an exception (refused connection, timeout: every
request has a total limit of --timeout seconds). A 503 with Retry-After is the server saying
it is full: it is counted apart, and the client waits the seconds it names before its next
request. Latency percentiles are over the successful requests.

--json PATH also writes the figures of every phase (clients, requests/s, characters/s, latency
percentiles, errors, 503s, streamed first lines) to PATH, for docs/load_chart.py.

The run is bounded: clients start no request after the phase's deadline, so a phase
lasts at most its duration plus --timeout. Exit status: 0 if every request succeeded,
1 if any failed, 2 if the server or the setup failed, 130 on Ctrl-C.

The server's torch uses its default thread count; set CELLX_TORCH_THREADS to change it
(the environment is passed to the server). Server output goes to a temporary log file,
whose tail is printed if the server fails.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

HOST = "127.0.0.1"  # the benchmark talks to its own local server only
ROOT = Path(__file__).resolve().parent.parent
SAMPLE_FILE = "sample.txt"


# --- the server ------------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Server:
    """uvicorn in its own process group, so that it (and its worker processes) can be stopped as one."""

    def __init__(self, models_dir: Path, workers: int):
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile("w+b", prefix="cellx-load-", suffix=".log", delete=False)
        # no select-and-match warm-up: its background pass over the samples would share the cores with the load
        env = {"CELLX_MATCH_WARM_UP": "false", **os.environ, "CELLX_MODELS_DIR": str(models_dir.resolve()),
               "CELLX_HOST": HOST, "CELLX_PORT": str(self.port)}
        command = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", HOST, "--port", str(self.port),
                   "--workers", str(workers), "--log-level", "warning", "--no-access-log"]
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=self.log,
                                        stderr=subprocess.STDOUT, start_new_session=True)

    def cpu_seconds(self) -> float:
        """User + system CPU seconds of the server's process group so far (its workers included), from /proc."""
        total, tick = 0, os.sysconf("SC_CLK_TCK")
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:  # a process that ended meanwhile
                continue
            if int(fields[2]) == self.process.pid:  # fields[2] is the process group (pgrp)
                total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / tick

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log_tail(self, n: int = 30) -> str:
        self.log.flush()
        lines = Path(self.log.name).read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join(lines[-n:])

    async def wait_ready(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.base_url, timeout=5, trust_env=False) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise SetupError(f"the server exited with status {self.process.returncode}:\n{self.log_tail()}")
                try:
                    response = await client.get("/healthz")
                    if response.status_code == 200:
                        return response.json()
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.25)
        raise SetupError(f"the server did not answer /healthz within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM to the server's process group (uvicorn shuts down cleanly), SIGKILL after 10 s."""
        if self.process.poll() is None:
            for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
                try:
                    os.killpg(self.process.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.process.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


class SetupError(Exception):
    pass


# --- the clients -----------------------------------------------------------------------------------------------

@dataclass
class PhaseStats:
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests
    errors: list[str] = field(default_factory=list)
    full: int = 0  # 503s with Retry-After: handled, not errors
    chars: int = 0
    elapsed: float = 0.0
    first_lines: list[float] = field(default_factory=list)  # seconds to a streamed request's first character line
    server_cpu: float = 0.0
    client_cpu: float = 0.0

    @property
    def ok(self) -> int:
        return len(self.latencies)

    def percentile(self, q: float) -> float:
        """Nearest-rank percentile of the successful requests' latency, in seconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered), max(1, math.ceil(q / 100 * len(ordered)))) - 1]

    @property
    def rps(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0


class Full(Exception):
    """A 503 with Retry-After: the server is full."""

    def __init__(self, retry_after: float):
        self.retry_after = retry_after


async def send(client: httpx.AsyncClient, payload: dict, timeout: float) -> str | None:
    """One request; None if it succeeded, else what went wrong. Raises Full for a 503 with Retry-After."""
    path = "/api/interventions" if "interventions" in payload else "/api/activations"
    try:
        response = await asyncio.wait_for(client.post(path, json=payload), timeout)
        if response.status_code == 503 and "retry-after" in response.headers:
            raise Full(float(response.headers["retry-after"]))
        if response.status_code != 200:
            return f"HTTP {response.status_code}: {response.text[:200]}"
        if len(response.json()["values"]) != len(payload["text"]):
            return "response has the wrong number of value rows"
        return None
    except Full:
        raise
    except asyncio.TimeoutError:
        return f"no complete response within {timeout:g} s"
    except Exception as exc:  # noqa: BLE001 -- refused connections, malformed bodies: all are errors
        return f"{type(exc).__name__}: {exc}"[:300]


async def first_line(client: httpx.AsyncClient, payload: dict, timeout: float) -> float | None:
    """Seconds from sending a streamed request to its first character line (the second line); None if it failed."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            async with client.stream("POST", "/api/activations/stream", json=payload) as response:
                if response.status_code != 200:
                    return None
                lines = response.aiter_lines()
                await anext(lines)  # metadata
                await anext(lines)
                return time.perf_counter() - started  # leaving now closes the stream: the server drops it
    except Exception:  # noqa: BLE001 -- a probe that failed is left out, the phase's clients report errors
        return None


async def probe_loop(base_url: str, payload: dict, deadline: float, timeout: float, stats: PhaseStats) -> None:
    """A streamed request's time to its first line, once a second while the phase runs."""
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout, trust_env=False) as client:
        while time.monotonic() < deadline:
            seconds = await first_line(client, payload, timeout)
            if seconds is not None:
                stats.first_lines.append(seconds)
            await asyncio.sleep(max(0.0, 1.0 - (seconds or 0.0)))


async def client_loop(base_url: str, payloads: list[dict], first: int, deadline: float, timeout: float,
                      stats: PhaseStats) -> None:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits, trust_env=False) as client:
        i = first
        while time.monotonic() < deadline:
            payload = payloads[i % len(payloads)]
            i += 1
            started = time.perf_counter()
            try:
                error = await send(client, payload, timeout)
            except Full as full:
                stats.full += 1
                await asyncio.sleep(min(full.retry_after, max(0.0, deadline - time.monotonic())))
                continue
            if error is None:
                stats.latencies.append(time.perf_counter() - started)
                stats.chars += len(payload["text"])
            else:
                stats.errors.append(error)


async def run_phase(server: Server, payloads: list[dict], clients: int, seconds: float, timeout: float,
                    probe: bool = False) -> PhaseStats:
    stats = PhaseStats()
    cpu_before, client_before = server.cpu_seconds(), _own_cpu()
    started = time.perf_counter()
    deadline = time.monotonic() + seconds
    tasks = [asyncio.create_task(client_loop(server.base_url, payloads, k, deadline, timeout, stats))
             for k in range(clients)]
    if probe:
        streamed = {k: v for k, v in payloads[0].items() if k != "interventions"}  # POST /api/activations/stream
        tasks.append(asyncio.create_task(probe_loop(server.base_url, streamed, deadline, timeout, stats)))
    try:
        done, pending = await asyncio.wait(tasks, timeout=seconds + timeout + 10)  # a second bound, in case
    finally:  # also on Ctrl-C: no client outlives its phase
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    stats.elapsed = time.perf_counter() - started
    stats.server_cpu, stats.client_cpu = server.cpu_seconds() - cpu_before, _own_cpu() - client_before
    if pending:
        stats.errors.append(f"{len(pending)} client(s) overran the phase's time limit")
    stats.errors.extend(f"client failed: {task.exception()!r}" for task in done if task.exception())
    return stats


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


async def idle_first_lines(base_url: str, payload: dict, timeout: float, count: int = 5) -> list[float]:
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout, trust_env=False) as client:
        return [t for t in [await first_line(client, payload, timeout) for _ in range(count)] if t is not None]


async def warm_up(base_url: str, payloads: list[dict], requests: int, timeout: float) -> None:
    """Concurrent requests on separate connections, not counted, so that every worker has run the model once."""
    async def one(payload: dict) -> str | None:
        async with httpx.AsyncClient(base_url=base_url, timeout=timeout, trust_env=False) as client:
            return await send(client, payload, timeout)

    errors = [e for e in await asyncio.gather(*(one(payloads[k % len(payloads)]) for k in range(requests))) if e]
    if errors:
        raise SetupError(f"{len(errors)} of {requests} warm-up request(s) failed: {errors[0]}")


# --- the run ---------------------------------------------------------------------------------------------------

def bench_texts(models_dir: Path, model: str, vocab: list[str], n_chars: int, count: int = 16) -> tuple[list[str], str]:
    sample_path = models_dir / model / SAMPLE_FILE
    sample = sample_path.read_text(encoding="utf-8") if sample_path.is_file() else ""
    if sample:
        source = f"slices of {sample_path}"
        sample = sample * (n_chars // len(sample) + 2)  # long enough for every slice
        step = max(1, (len(sample) - n_chars) // count)
        return [sample[k * step : k * step + n_chars] for k in range(count)], source
    rng = random.Random(0)
    return ["".join(rng.choices(vocab, k=n_chars)) for _ in range(count)], "random text over the model's vocabulary"


def report(label: str, stats: PhaseStats, baseline: PhaseStats | None = None) -> None:
    ms = [1000 * stats.percentile(q) for q in (50, 90, 99)]
    speedup = f"  speed-up {stats.rps / baseline.rps:5.2f}x" if baseline is not None and baseline.rps else ""
    print(f"{label:<20} {stats.ok:>5} ok {len(stats.errors):>3} errors {stats.full:>4} 503s in {stats.elapsed:5.1f} s "
          f"{stats.rps:7.2f} req/s {stats.chars / stats.elapsed if stats.elapsed else 0:>8,.0f} chars/s  "
          f"p50 {ms[0]:6.0f} p90 {ms[1]:6.0f} p99 {ms[2]:6.0f} ms  cpu server {stats.server_cpu:5.1f} s "
          f"client {stats.client_cpu:5.1f} s{speedup}")
    if stats.first_lines:
        ordered = sorted(stats.first_lines)
        print(f"{'':<20} streamed first line under load: median {1000 * ordered[len(ordered) // 2]:.0f} ms, "
              f"max {1000 * ordered[-1]:.0f} ms ({len(ordered)} probes)")


async def main_async(args: argparse.Namespace, server: Server) -> int:
    health = await server.wait_ready(args.startup_timeout)
    if health.get("failed"):
        print(f"models that failed to load: {health['failed']}")
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30, trust_env=False) as client:
        models = (await client.get("/api/models")).json()
        if not models:
            raise SetupError(f"the server serves no models from {args.models_dir}")
        names = [m["name"] for m in models]
        model = args.model or names[0]
        if model not in names:
            raise SetupError(f"model {model!r} is not served; served: {', '.join(names)}")
        detail = (await client.get(f"/api/models/{model}")).json()
    texts, source = bench_texts(args.models_dir, model, detail["vocab"], args.chars)
    units = None if args.units == "all" else [0]
    payloads = [{"model": model, "text": text, "units": units, "topk": 5} for text in texts]
    if args.endpoint == "interventions":
        ablation = {"layer": detail["layers"] - 1, "state": "c" if detail["arch"] == "lstm" else "h", "units": [0],
                    "op": "zero", "start": args.chars // 2}
        payloads = [{**payload, "interventions": [ablation]} for payload in payloads]
    n_units = detail["hidden_size"] if units is None else 1
    print(f"server {server.base_url} (pid {server.process.pid}, {args.uvicorn_workers} uvicorn worker(s)), "
          f"models dir {args.models_dir}")
    print(f"model {model}: {detail['arch']} {detail['layers']}x{detail['hidden_size']}; POST /api/{args.endpoint}, "
          f"{args.chars:,} chars ({source}), default layer/state, {n_units} unit(s), topk 5")

    await warm_up(server.base_url, payloads, 2 * args.uvicorn_workers, args.timeout)
    probe = {k: v for k, v in payloads[0].items() if k != "interventions"}  # POST /api/activations/stream
    idle = sorted(await idle_first_lines(server.base_url, probe, args.timeout))
    if idle:
        print(f"streamed first line, idle: median {1000 * idle[len(idle) // 2]:.0f} ms, max {1000 * idle[-1]:.0f} ms")
    baseline = await run_phase(server, payloads, 1, args.baseline_seconds, args.timeout)
    report("1 client (baseline)", baseline)
    phases = [baseline]
    for clients in args.clients:
        loaded = await run_phase(server, payloads, clients, args.seconds, args.timeout, probe=True)
        report(f"{clients} clients", loaded, baseline)
        phases.append(loaded)
    if args.json is not None:
        write_json(args.json, args, model, [1, *args.clients], phases)
    errors = [error for phase in phases for error in phase.errors]
    if errors:
        distinct = sorted(set(errors), key=errors.index)
        print(f"{len(errors)} request(s) failed; first distinct errors:")
        for error in distinct[:5]:
            print(f"  {error}")
        return 1
    return 0


def write_json(path: Path, args: argparse.Namespace, model: str, clients: list[int], phases: list[PhaseStats]) -> None:
    def median(values: list[float]) -> float | None:
        return sorted(values)[len(values) // 2] if values else None

    path.write_text(json.dumps({
        "endpoint": args.endpoint, "model": model, "chars": args.chars, "uvicorn_workers": args.uvicorn_workers,
        "phases": [{"clients": n, "requests_per_s": stats.rps, "chars_per_s": stats.chars / stats.elapsed,
                    "ok": stats.ok, "errors": len(stats.errors), "full": stats.full,
                    **{f"p{q}_s": stats.percentile(q) if stats.ok else None for q in (50, 90, 99)},
                    "first_line_median_s": median(stats.first_lines)} for n, stats in zip(clients, phases)],
    }, indent=1) + "\n", encoding="utf-8")


def _counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated client counts, got {text!r}") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("every client count must be at least 1")
    return counts


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models-dir", type=Path, default=ROOT / "models", help="served models (default: models/)")
    parser.add_argument("--model", default=None, help="default: the first model GET /api/models lists")
    parser.add_argument("--clients", type=_counts, default=[20, 50],
                        help="concurrent clients of each load phase, comma-separated (default 20,50)")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the load phase (default 30)")
    parser.add_argument("--baseline-seconds", type=float, default=10.0, help="length of the 1-client phase (default 10)")
    parser.add_argument("--chars", type=int, default=2000, help="characters per request (default 2000)")
    parser.add_argument("--units", choices=("one", "all"), default="one", help="unit 0 only (default) or every unit")
    parser.add_argument("--uvicorn-workers", type=int, default=1, help="uvicorn worker processes (default 1)")
    parser.add_argument("--json", type=Path, default=None, help="also write every phase's figures to this file")
    parser.add_argument("--endpoint", choices=("activations", "interventions"), default="activations",
                        help="what the clients send (default activations; interventions: POST /api/interventions "
                             "with one unit ablated from the middle of the text)")
    parser.add_argument("--timeout", type=float, default=60.0, help="total limit per request, seconds (default 60)")
    parser.add_argument("--startup-timeout", type=float, default=120.0, help="wait for /healthz, seconds (default 120)")
    args = parser.parse_args(argv)
    for name in ("chars", "uvicorn_workers"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    for name in ("seconds", "baseline_seconds", "timeout", "startup_timeout"):
        if not 0 < getattr(args, name) <= 3600:
            parser.error(f"--{name.replace('_', '-')} must be in (0, 3600]")
    if not args.models_dir.is_dir():
        parser.error(f"--models-dir {args.models_dir} is not a directory")
    return args


def _terminate(signum, frame):  # SIGTERM: unwind like Ctrl-C, so the server is stopped too
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    server = Server(args.models_dir, args.uvicorn_workers)
    try:
        return asyncio.run(main_async(args, server))
    except SetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; stopping the server", file=sys.stderr)
        return 130
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
