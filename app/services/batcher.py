"""Continuous batching: every request's recurrent work in one batched pass over parallel streams.

Twenty requests reading twenty texts one matrix-vector product per step each leave the cores
waiting on memory; the same twenty rows as one matrix-matrix product per step cost a few
times one of them (bench/load.py, docs/benchmarks.md). A request becomes a Stream
(activations: its text; a sample: its prime, then one drawn character at a time); the batcher's
worker threads run passes of up to `batch_streams` rows, each row a different stream of one
model at its own position with its own state, and hand every row its result. Streams join and
leave between passes.

Workers: one per compute slot (the app's `compute_slots`, by default one per core), each pass
on one core (torch_threads 1). Two passes run at once on two cores, since torch lets go of the
GIL inside the recurrent kernels; a stream is in at most one pass at a time. One pass spread
over both cores by torch's own threads would be no faster here: as soon as a second thread
has run a parallel torch operation, libgomp sees more threads than cores and stops spinning
between the many small parallel regions of a recurrent pass, and the pass takes 2-3x longer.

Pass shape (what keeps the numbers load-independent): a pass is (G, FIRST_CHARS) for the first
chunk of texts, (G, batch_chars) for the rest and (G, 1) for a generation step, where G is the
smallest of 2, 4, 8, ... batch_streams that holds the streams going, the rest padded: the kernels
give a row the same bits at every such G but not alone (app/engine/streams.py). Before a model's
first pass of each length the batcher finds with agreeing_shapes() the sizes that give the bits
of the full batch_streams rows on this machine (here all from 2 up, from 4 up for one step) and
uses only those: on another BLAS where none agrees, every pass takes all batch_streams rows.
check_shapes() does this for every served model as the server starts. A stream reads its text
in a first chunk of FIRST_CHARS, then chunks of batch_chars, so its chunk boundaries depend on
nothing but its own length, and its first lines come after one short pass.
A sample reads its prime in whole chunks and the rest of it, like its drawn characters, one
step at a time; a generation pass runs up to batch_chars steps, so a sample advances as far per
turn as a reader.

Interventions (POST /api/interventions, /interventions/sample): a request is two streams, the
plain one and the intervened one (app/services/interventions.py, steering.py). A pass has one
path: "read", the fused layers (read_rows), or "intervene", capture()'s per-step loop with each
row's own edits applied in its own row (intervene_rows), for streams whose interventions act
throughout their next chunk or step (Stream.acting). An intervened text cuts its chunks where its
own interventions start or stop acting, and a steered sample leaves a generation pass when its
next step takes the other path, so which path a row's numbers come from depends on the request
alone, never on the rows beside it. Passes group streams of one model, one path and one length;
the per-step path's batch sizes are checked like the fused path's (here from 2 up for chunks,
from 4 up for one step), and a pass of a length other than the plain ones (a chunk cut at a
span's edge) takes all batch_streams rows, whose bits need no check.

Fairness: the active streams form one round-robin queue. Each pass takes the first stream
that can go (a new one is put first: its first line arrives within one pass, even under load)
and fills the batch with the next ones of the same model and kind; they go to the back. Every
stream therefore advances one chunk per ceil(active / batch_streams) passes, whatever its
length: a 100,000-character text takes many turns, and a short one waiting beside it still
gets a turn every few passes. Chunk size: batch_chars (default 128) trades the pass's fixed
costs against the time to a stream's next line: at 128 a pass of 8 rows of the 2x512
austen-lstm takes about 45 ms on one core, one of 2 rows about 27 ms.

Bounded memory: at most `max_streams` streams are active (each holds its state and at most
`MAX_PENDING` computed chunks its client has not read yet: a slow reader is skipped, not
computed ahead); up to `max_queue` more wait for a place, oldest first; beyond that a request
is refused with a 503 and Retry-After. A stream whose client went away is dropped at the next
pass. Each pass holds the app's compute slot (app/api/deps.py), so it takes turns with the
other model work (rankings, importance, attribution) instead of splitting the cores with it.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from collections import deque
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager, nullcontext

import torch

from app.engine.interventions import Intervention, row_edits
from app.engine.model import CharRNN, State
from app.engine.streams import (PATHS, RowResult, Want, agreeing_shapes, batch_shapes, fitting_shape, intervene_rows,
                                model_device, pad_ids, read_rows, row_state, stack_states)
from app.errors import InputError

log = logging.getLogger("cellx.batcher")

MAX_PENDING = 4  # computed chunks a stream may hold for its client before it skips its turns
FIRST_CHARS = 32  # a text's first chunk: its first lines wait for a pass this short
_END = object()


def _path(acting: tuple) -> str:
    """The path (PATHS) of a pass for a stream with these interventions acting: the per-step one if any act."""
    return "intervene" if acting else "read"


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
        self.running = False  # in a pass of one of the workers (set and cleared under the batcher's lock)
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

    def acting(self) -> tuple[tuple[Intervention, torch.Tensor], ...]:
        """The interventions (with the values they set) acting throughout the next chunk or step: none for a
        plain stream. A stream with some cuts its chunks where they start or stop acting (its own spans)."""
        return ()

    def next_pass(self, steps: int) -> tuple[int | None, str]:
        """What the next pass must be to take this stream: its length (pass_steps) and its path (PATHS)."""
        return self.pass_steps(steps), _path(self.acting())

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
                 retry_after_s: int = 2, compute_slot: AbstractContextManager = nullcontext(), workers: int = 1):
        self.rows, self.steps = batch_streams, batch_chars
        self.shapes = batch_shapes(batch_streams)
        # per model, per (pass length, path): the batch sizes that give the bits of the largest (agreeing_shapes)
        self._agreeing: weakref.WeakKeyDictionary[CharRNN, dict[tuple[int, str], tuple[int, ...]]] = \
            weakref.WeakKeyDictionary()
        # the pass lengths a plain stream takes; an intervened one's cuts at its spans take others, always full size
        self.lengths = sorted({min(FIRST_CHARS, batch_chars), batch_chars, 1})
        self.max_streams, self.max_queue, self.retry_after_s = max_streams, max_queue, retry_after_s
        self.compute_slot = compute_slot
        self._active: deque[Stream] = deque()
        self._queued: deque[Stream] = deque()
        self._wake = threading.Condition()
        self._stopping = False
        self.workers = workers
        self._threads: list[threading.Thread] = []
        self._shapes_lock = threading.Lock()
        self.passes = 0  # batched passes run so far (tests count them; counted under the lock)

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
        self._ensure_threads()
        return stream

    def check_shapes(self, models: list[CharRNN]) -> threading.Thread:
        """Finds every model's agreeing batch sizes in a background thread, so that no first request waits for it."""
        def check() -> None:
            for model in models:
                for length in self.lengths:
                    for path in PATHS:
                        self._rows(model, 1, length, path)

        thread = threading.Thread(target=check, name="cellx-batch-shapes", daemon=True)
        thread.start()
        return thread

    def depth(self) -> dict[str, int]:
        """Streams computing and requests waiting for a place (for /healthz)."""
        with self._wake:
            def live(streams: deque[Stream]) -> int:
                return sum(not (s.finished or s.cancelled) for s in streams)  # the worker drops the others next
            return {"streams": live(self._active), "queued": live(self._queued)}

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        for thread in self._threads:
            thread.join()
        with self._wake:
            for stream in list(self._active) + list(self._queued):
                if not stream.finished:
                    stream.fail(RuntimeError("the server is shutting down"))
            self._active.clear()
            self._queued.clear()
            self._threads, self._stopping = [], False  # an app's lifespan may start again (tests do)

    def _ensure_threads(self) -> None:
        with self._wake:
            self._threads = [t for t in self._threads if t.is_alive()]
            while len(self._threads) < self.workers:
                thread = threading.Thread(target=self._run, name=f"cellx-batcher-{len(self._threads)}", daemon=True)
                thread.start()
                self._threads.append(thread)

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
                self.passes += 1  # counted before its results go out, so a finished request has seen its count
                for stream in group:
                    stream.running = True
            self._pass(group)  # never raises: a failed pass fails its streams, and the worker goes on
            with self._wake:
                for stream in group:
                    stream.running = False
                self._wake.notify_all()  # its streams may go again, in this worker or another

    def _next_group(self) -> list[Stream] | None:
        """Admits waiting streams (new ones first) and takes the next batch from the round-robin (lock held)."""
        self._active = deque(s for s in self._active if not (s.cancelled or s.finished))
        while self._queued and len(self._active) < self.max_streams:
            stream = self._queued.popleft()
            if not stream.cancelled:
                self._active.appendleft(stream)
        ready = [s for s in self._active if s.pending < MAX_PENDING and not s.running]
        if not ready:
            return None
        first = ready[0]
        kind = first.next_pass(self.steps)
        group = [s for s in ready if s.model is first.model and s.next_pass(self.steps) == kind][: self.rows]
        for stream in group:  # to the back of the round-robin
            self._active.remove(stream)
            self._active.append(stream)
        return group

    def _pass(self, group: list[Stream]) -> None:
        try:
            with self.compute_slot:
                steps, path = group[0].next_pass(self.steps)
                rows = self._rows(group[0].model, len(group), 1 if steps is None else steps, path)
                if steps is not None:
                    self._read_pass(group, steps, rows, path)
                else:
                    self._step_pass(group, rows, path)
        except Exception as exc:  # one failed pass fails its streams, not the server
            log.exception("batched pass failed")
            for stream in group:
                if not stream.finished:
                    stream.fail(exc)

    def _rows(self, model: CharRNN, streams: int, length: int, path: str = "read") -> int:
        """The pass's batch size G for this many streams of the model reading `length` steps on `path`
        (the module docstring)."""
        if length not in self.lengths:
            return self.rows  # the full size gives a row the same bits every time: nothing to check
        with self._shapes_lock:  # the first pass of a length, in whichever worker, checks; the other waits for it
            checked = self._agreeing.setdefault(model, {})
            if (length, path) not in checked:
                checked[length, path] = agreeing_shapes(model, self.shapes, length, path)
                log.debug("%s passes of %d step(s): batch sizes %s", path, length, checked[length, path])
            return fitting_shape(streams, checked[length, path])

    def _compute(self, model: CharRNN, ids: torch.Tensor, state: State, wants: list, acting: list, rows: int,
                 path: str) -> tuple[list[RowResult | None], State]:
        """One pass of ids (G, T) on `path`; acting[b]: the (intervention, values) that act in row b."""
        wants = self._padded(wants, rows)
        if path == "read":
            return read_rows(model, ids, state, wants)
        return intervene_rows(model, ids, state, wants, row_edits(self._padded(acting, rows, ())))

    def _read_pass(self, group: list[Stream], steps: int, rows: int, path: str) -> None:
        model = group[0].model
        chunks = [s.read(steps) for s in group]
        ids = pad_ids(chunks, rows, steps, model_device(model))  # (G, T)
        state = stack_states(model, self._padded([s.state for s in group], rows))
        results, state = self._compute(model, ids, state, [s.want for s in group], [s.acting() for s in group],
                                       rows, path)
        for row, stream in enumerate(group):
            stream.state = row_state(state, row)
            stream.read_done(results[row], len(chunks[row]))

    def _step_pass(self, group: list[Stream], rows: int, path: str) -> None:
        """Up to batch_chars generation steps on `path`. A stream that finishes, or whose next step takes the
        other path (its interventions start or stop acting), leaves its row idle for the rest of the pass."""
        model = group[0].model
        device = model_device(model)
        # (G, H) each, kept batched through the steps
        state = stack_states(model, self._padded([s.state for s in group], rows))
        left = [False] * len(group)
        for _ in range(self.steps):
            acting = [() if gone else s.acting() for s, gone in zip(group, left)]  # before step_input moves it on
            for row, stream in enumerate(group):
                if not left[row] and (stream.finished or stream.cancelled or _path(acting[row]) != path):
                    left[row], acting[row] = True, ()
                    stream.state = row_state(state, row)  # its state after its last step in this pass
            live = [not gone for gone in left]
            if not any(live):
                break
            inputs = [torch.tensor([s.step_input()], device=device) if on else None for s, on in zip(group, live)]
            # a row that left reads padding from here on: its numbers are dropped and no other row sees them
            results, state = self._compute(model, pad_ids(inputs, rows, 1, device), state,
                                           [s.want if on else None for s, on in zip(group, live)], acting, rows, path)
            for row, stream in enumerate(group):
                if live[row]:
                    stream.step_done(results[row])
        for row, stream in enumerate(group):
            if not left[row]:
                stream.state = row_state(state, row)

    @staticmethod
    def _padded(per_stream: list, rows: int, idle=None) -> list:
        """A row per stream, then `idle` for each idle row of the pass's `rows`."""
        return per_stream + [idle] * (rows - len(per_stream))
