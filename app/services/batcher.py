"""Continuous batching: every request's recurrent work in one batched pass over parallel streams.

Twenty requests reading twenty texts one matrix-vector product per step each leave the cores
waiting on memory; the same twenty rows as one matrix-matrix product per step cost a few
times one of them (bench/load.py, docs/benchmarks.md). The batcher owns one worker thread per
app. A request becomes a Stream (activations: its text; a sample: its prime, then one drawn
character at a time); the thread runs passes of exactly `batch_streams` rows, each row a
different stream of one model at its own position with its own state, and hands every row its
result. Streams join and leave between passes.

Pass shape (what keeps the numbers load-independent): a pass is always (batch_streams,
FIRST_CHARS) for the first chunk of texts, (batch_streams, batch_chars) for the rest and
(batch_streams, 1) for a generation step, idle rows padded (app/engine/streams.py says why the
shape must not change). A stream reads its text in a first chunk of FIRST_CHARS, then chunks of
batch_chars, so its chunk boundaries depend on nothing but its own length, and its first lines
come after one short pass.
A sample reads its prime in whole chunks and the rest of it, like its drawn characters, one
step at a time; a generation pass runs up to batch_chars steps, so a sample advances as far per
turn as a reader.

Fairness: the active streams form one round-robin queue. Each pass takes the first stream
that can go (a new one is put first: its first line arrives within one pass, even under load)
and fills the batch with the next ones of the same model and kind; they go to the back. Every
stream therefore advances one chunk per ceil(active / batch_streams) passes, whatever its
length: a 100,000-character text takes many turns, and a short one waiting beside it still
gets a turn every few passes. Chunk size: batch_chars (default 128) trades the pass's fixed
costs against the time to a stream's next line: at 128 a pass of 8 rows of the 2x512
austen-lstm takes about 50 ms on two cores.

Bounded memory: at most `max_streams` streams are active (each holds its state and at most
`MAX_PENDING` computed chunks its client has not read yet: a slow reader is skipped, not
computed ahead); up to `max_queue` more wait for a place, oldest first; beyond that a request
is refused with a 503 and Retry-After. A stream whose client went away is dropped at the next
pass. Each pass holds the app's compute slot (app/api/deps.py), so it takes turns with the
other model work (interventions, rankings) instead of splitting the cores with it.
"""
from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager, nullcontext

import torch

from app.engine.model import CharRNN, State
from app.engine.streams import RowResult, Want, model_device, pad_ids, read_rows, row_state, stack_states
from app.errors import InputError

log = logging.getLogger("cellx.batcher")

MAX_PENDING = 4  # computed chunks a stream may hold for its client before it skips its turns
FIRST_CHARS = 32  # a text's first chunk: its first lines wait for a pass this short
_END = object()


class ServerFull(InputError):
    def __init__(self, message: str, retry_after_s: int):
        super().__init__(503, message, headers={"Retry-After": str(retry_after_s)})


class Stream:
    """One request's place in the batch. Subclasses say what to read and what to do with the results.

    The worker thread calls read/read_done (a chunk of the text) or step_input/step_done (one
    character); `put` hands the request's consumer an item through its event loop.
    """

    def __init__(self, model: CharRNN, want: Want | None):
        self.model, self.want = model, want
        self.state: State | None = None  # {name: (H,)} after the last character read
        self.finished = False
        self.cancelled = False
        self._put = self._taken = 0  # each written by one thread only: no lock needed
        self._loop = asyncio.get_running_loop()
        self._items: asyncio.Queue = asyncio.Queue()

    # --- the worker thread's side
    def pass_steps(self, steps: int) -> int | None:
        """The length of the read pass this stream's next chunk needs (`steps` is batch_chars); None: it steps."""
        return None

    def read(self, steps: int) -> torch.Tensor:
        """The next chunk's ids, at most `steps` (this stream's pass_steps); shorter only at the end of the text."""
        raise NotImplementedError

    def read_done(self, result: RowResult | None, length: int) -> None:
        """`length` ids of the chunk were read; self.state is already the state after them."""
        raise NotImplementedError

    def step_input(self) -> int:
        """The id to read in the next generation step (the stream is not finished)."""
        raise NotImplementedError

    def step_done(self, result: RowResult | None) -> None:
        raise NotImplementedError

    @property
    def pending(self) -> int:
        """Items put and not yet taken by the consumer."""
        return self._put - self._taken

    def put(self, item) -> None:
        self._put += 1
        try:
            self._loop.call_soon_threadsafe(self._items.put_nowait, item)
        except RuntimeError:  # the consumer's event loop is closed: nobody is listening any more
            self.cancelled = True

    def fail(self, exc: BaseException) -> None:
        self.finished = True
        self.put(exc)

    def finish(self) -> None:
        self.finished = True
        self.put(_END)

    def cancel(self) -> None:
        """The consumer is gone: the worker drops the stream before its next pass."""
        self.cancelled = True

    # --- the consumer's side
    async def items(self) -> AsyncIterator:
        """What the worker put, in order, until the end; a failure is raised here. Leaving early cancels."""
        try:
            while True:
                item = await self._items.get()
                self._taken += 1
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self.cancel()  # a client gone away, or the end: either way the worker drops it


class Batcher:
    def __init__(self, batch_streams: int = 8, batch_chars: int = 128, max_streams: int = 64, max_queue: int = 64,
                 retry_after_s: int = 2, compute_slot: AbstractContextManager = nullcontext()):
        self.rows, self.steps = batch_streams, batch_chars
        self.max_streams, self.max_queue, self.retry_after_s = max_streams, max_queue, retry_after_s
        self.compute_slot = compute_slot
        self._active: deque[Stream] = deque()
        self._queued: deque[Stream] = deque()
        self._wake = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.passes = 0  # batched passes run so far (tests count them)

    # --- requests' side
    def submit(self, stream: Stream) -> Stream:
        """Adds a stream, or raises ServerFull (503 with Retry-After) when the active and queued places are taken."""
        with self._wake:
            if self._stopping:
                raise ServerFull("the server is shutting down; try again shortly", self.retry_after_s)
            if len(self._active) >= self.max_streams and len(self._queued) >= self.max_queue:
                raise ServerFull(f"busy: {self.max_streams} streams computing and {self.max_queue} requests "
                                 f"waiting; try again in {self.retry_after_s} s", self.retry_after_s)
            self._queued.append(stream)
            self._wake.notify()
        self._ensure_thread()
        return stream

    def depth(self) -> dict[str, int]:
        """Streams computing and requests waiting for a place (for /healthz)."""
        with self._wake:
            def live(streams: deque[Stream]) -> int:
                return sum(not (s.finished or s.cancelled) for s in streams)  # the worker drops the others next
            return {"streams": live(self._active), "queued": live(self._queued)}

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join()
        with self._wake:
            for stream in list(self._active) + list(self._queued):
                if not stream.finished:
                    stream.fail(RuntimeError("the server is shutting down"))
            self._active.clear()
            self._queued.clear()
            self._thread, self._stopping = None, False  # an app's lifespan may start again (tests do)

    def _ensure_thread(self) -> None:
        with self._wake:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="cellx-batcher", daemon=True)
                self._thread.start()

    # --- the worker thread
    def _run(self) -> None:
        while True:
            with self._wake:
                group = self._next_group()
                while group is None and not self._stopping:
                    # with streams held back by slow readers, look again shortly; idle, sleep until a submit
                    self._wake.wait(timeout=0.02 if self._active or self._queued else None)
                    group = self._next_group()
                if self._stopping:
                    return
            self._pass(group)  # never raises: a failed pass fails its streams, and the worker goes on

    def _next_group(self) -> list[Stream] | None:
        """Admits waiting streams (new ones first) and takes the next batch from the round-robin (lock held)."""
        self._active = deque(s for s in self._active if not (s.cancelled or s.finished))
        while self._queued and len(self._active) < self.max_streams:
            stream = self._queued.popleft()
            if not stream.cancelled:
                self._active.appendleft(stream)
        ready = [s for s in self._active if s.pending < MAX_PENDING]
        if not ready:
            return None
        first = ready[0]
        steps = first.pass_steps(self.steps)
        group = [s for s in ready if s.model is first.model and s.pass_steps(self.steps) == steps][: self.rows]
        for stream in group:  # to the back of the round-robin
            self._active.remove(stream)
            self._active.append(stream)
        return group

    def _pass(self, group: list[Stream]) -> None:
        try:
            with self.compute_slot:
                self.passes += 1  # counted before its results go out, so a finished request has seen its count
                steps = group[0].pass_steps(self.steps)
                if steps is not None:
                    self._read_pass(group, steps)
                else:
                    self._step_pass(group)
        except Exception as exc:  # one failed pass fails its streams, not the server
            log.exception("batched pass failed")
            for stream in group:
                if not stream.finished:
                    stream.fail(exc)

    def _read_pass(self, group: list[Stream], steps: int) -> None:
        model = group[0].model
        chunks = [s.read(steps) for s in group]
        ids = pad_ids(chunks, self.rows, steps, model_device(model))  # (G, T)
        results, state = read_rows(model, ids, stack_states(model, self._padded([s.state for s in group])), self._wants(group))
        for row, stream in enumerate(group):
            stream.state = row_state(state, row)
            stream.read_done(results[row], len(chunks[row]))

    def _step_pass(self, group: list[Stream]) -> None:
        """Up to batch_chars generation steps; a stream that finishes leaves its row idle for the rest."""
        model = group[0].model
        device = model_device(model)
        state = stack_states(model, self._padded([s.state for s in group]))  # (G, H) each, kept batched through the steps
        for _ in range(self.steps):
            live = [not (s.finished or s.cancelled) for s in group]
            if not any(live):
                break
            inputs = [torch.tensor([s.step_input()], device=device) if on else None for s, on in zip(group, live)]
            # a finished row reads padding from here on: its numbers are dropped and no other row sees them
            results, state = read_rows(model, pad_ids(inputs, self.rows, 1, device), state,
                                       self._padded([s.want if on else None for s, on in zip(group, live)]))
            for row, stream in enumerate(group):
                if live[row]:
                    stream.step_done(results[row])
        for row, stream in enumerate(group):
            stream.state = row_state(state, row)

    def _wants(self, group: list[Stream]) -> list[Want | None]:
        return self._padded([s.want for s in group])

    def _padded(self, rows: list) -> list:
        """A row per stream, then None for each idle row of the fixed batch shape."""
        return rows + [None] * (self.rows - len(rows))
