"""One scheduler for a whole ``run``: every study of the call shares one pool of kernels.

``run s1 … s8 --jobs 2`` used to run the studies one after another, each with its own kernels, so a
study's last notebooks (summary, role profile) ran with one core idle and every study paid for
starting and warming its kernels again.  Here the main thread keeps ``jobs`` tasks running on a
:class:`concurrent.futures.ThreadPoolExecutor` whose threads each keep one kernel of a shared
:class:`~analysis.run.report.KernelPool`, and picks the next task as the studies' dependencies allow:

1. the closing stage of a study whose notebooks are all done (index page, tables, manifest), after
   which the main thread swaps its folder in — a finished study is published at once;
2. the late notebooks (:data:`~analysis.run.report.LATE`: summary, role profile) of a study whose sections
   are all done, oldest study first (they end a study, so its folder can be published);
3. validating the next study (a worker thread: reading and checking its data) when fewer notebooks
   are waiting than there are workers, so the next study is ready before the cores run dry;
4. section notebooks, oldest study first;
5. validating the next study.

A late notebook is not tied to a worker when it is queued: the worker thread that starts it picks,
among its study's late notebooks still waiting, the one whose reused results (``ctx.cached`` names,
:func:`~analysis.run.report.memo_names`) its own kernel holds most of, weighed against what the other
kernels hold (:class:`_Memos`): the summary goes where the retention page's fits are, the role profile
where the staffing page ran, instead of fitting them again in the other kernel.

A study with bad input is reported and skipped; a failing notebook stops that study only (its
running notebooks end, then its folder is kept as ``<name>.failed``); a signal stops the whole run:
kernels shut down, every unfinished temporary folder removed, the studies already published kept.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path

from analysis.errors import InputError
from analysis.run.report import (KernelPool, NotebookFailed, RunOptions, StudyJob, _signals_stop_the_run, memo_names,
                                 notebooks_in)

__all__ = ["run_batch"]


class _Memos:
    """What each kernel keeps in memory for reuse (``ctx.cached``): ``{kernel: (study index,
    {name: seconds the notebook that computed it took})}``.  A kernel serves one study's results at a
    time (the notebook context drops another run's), so a kernel that runs a notebook of another
    study with reusable results starts a new record.  Thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self._held: dict = {}  # id(kernel) -> (study index, {name: seconds})
        self._kernels: dict = {}  # id(kernel) -> kernel

    def gain(self, km, study: int, names) -> float:
        """Seconds of work ``km`` would not redo for a notebook of ``study`` reusing ``names``."""
        held = self._held.get(id(km))
        if held is None or held[0] != study:
            return 0.0
        return float(sum(held[1].get(n, 0.0) for n in names))

    def best_elsewhere(self, km, study: int, names) -> float:
        """The largest :meth:`gain` of any other kernel seen."""
        return max((self.gain(k, study, names) for i, k in self._kernels.items() if i != id(km)), default=0.0)

    def ran(self, km, study: int, names, seconds: float) -> None:
        """``km`` ran a notebook of ``study`` that asked for ``names`` and took ``seconds``."""
        if not names:
            return
        with self._lock:
            self._kernels[id(km)] = km
            held = self._held.get(id(km))
            if held is None or held[0] != study:
                held = (study, {})
            for n in names:
                held[1].setdefault(n, float(seconds))  # computed by the first notebook that asked for it
            self._held[id(km)] = held

    def pick(self, km, study: int, queue: deque):
        """The notebook of ``queue`` this kernel should run: the largest reuse here beyond what the
        best other kernel would reuse (ties: queue order).  Removed from ``queue``; None when empty."""
        with self._lock:
            if not queue:
                return None
            scores = [self.gain(km, study, memo_names(p)) - self.best_elsewhere(km, study, memo_names(p))
                      for p in queue]
            best = max(range(len(queue)), key=lambda i: (scores[i], -i))
            try:
                p = queue[best]
                del queue[best]
            except IndexError:  # the main thread cleared the queue of a failed study meanwhile
                return None
            return p


class _State:
    """Where one study of the batch is: its stage, notebooks not yet started, notebooks running."""

    def __init__(self, index: int, job: StudyJob):
        self.index, self.job = index, job
        self.stage = "new"  # new -> setting_up -> sections -> late -> finishing -> done
        self.queue: deque = deque()
        self.unclaimed = 0  # late notebooks in the queue no worker has been sent for yet
        self.running = 0
        self.failed: NotebookFailed | None = None


def run_batch(study_dirs, opts: RunOptions, on_notebook_done=None, on_progress=None) -> list:
    """Run ``study_dirs`` with one shared kernel pool of ``opts.jobs`` kernels.  Returns, in the order
    of ``study_dirs``, a :class:`~analysis.run.report.StudyRun` for each study done, or the exception that
    stopped it (:class:`InputError`, :class:`NotebookFailed`).  Any other exception, and a signal
    (:class:`~analysis.run.report.Interrupted`), stops the run and is raised.  ``on_notebook_done(path)``
    and ``on_progress(study_name)`` are called in the main thread after each notebook."""
    nbs = notebooks_in(opts.notebooks_dir, opts.only)
    states = [_State(i, StudyJob(d, opts, nbs)) for i, d in enumerate(study_dirs)]
    n_threads = max(1, min(opts.jobs, len(nbs) * len(states))) if nbs else 1
    outcomes: list = [None] * len(states)
    with _signals_stop_the_run():
        pool = KernelPool(warm=n_threads if nbs else 0)  # kernels import the kit while the data is checked
        executor = ThreadPoolExecutor(n_threads, thread_name_prefix="care-kit")
        try:
            _Loop(states, outcomes, pool, executor, n_threads, on_notebook_done, on_progress).run()
        except BaseException:
            pool.close()  # notebooks still running fail at once instead of being waited for
            executor.shutdown(wait=True, cancel_futures=True)
            for s in states:
                s.job.discard()  # unfinished temporary folders; published studies stay
            raise
        finally:
            pool.close()
            executor.shutdown(wait=True)
    return outcomes


class _Loop:
    def __init__(self, states, outcomes, pool, executor, width, on_notebook_done, on_progress):
        self.states, self.outcomes = states, outcomes
        self.pool, self.executor, self.width = pool, executor, width
        self.on_notebook_done, self.on_progress = on_notebook_done, on_progress
        self.new = deque(states)
        self.pending: dict = {}
        self.memos = _Memos()

    # -- choosing the next task

    def _waiting(self) -> int:
        """Notebooks of studies already set up that are not started yet (late ones included)."""
        n = 0
        for s in self.states:
            if s.stage in ("sections", "late") and s.failed is None:
                n += len(s.queue) + (len(s.job.late()) if s.stage == "sections" else 0)
        return n

    def _next(self):
        active = [s for s in self.states if s.stage in ("sections", "late") and s.failed is None]
        for s in self.states:
            if s.stage == "late" and not s.queue and not s.running and s.failed is None:
                s.stage = "finishing"
                return s, "finish", None
        for s in active:
            if s.stage == "late" and s.unclaimed > 0:
                s.unclaimed -= 1
                return s, "late", None
        if self.new and self._waiting() < self.width:
            s = self.new.popleft()
            s.stage = "setting_up"
            return s, "setup", None
        for s in active:
            if s.stage == "sections" and s.queue:
                return s, "notebook", s.queue.popleft()
        if self.new and not any(kind == "setup" for _, kind, _ in self.pending.values()):
            s = self.new.popleft()
            s.stage = "setting_up"
            return s, "setup", None
        return None

    def _submit(self, s: _State, kind: str, p: Path | None):
        if kind == "setup":
            fut = self.executor.submit(s.job.setup)
        elif kind == "finish":
            fut = self.executor.submit(s.job.finish)
        elif kind == "late":  # the worker picks the late notebook that suits its kernel
            s.running += 1
            fut = self.executor.submit(self._late, s)
        else:
            s.running += 1
            fut = self.executor.submit(self._section, s, p)
        self.pending[fut] = (s, kind, p)

    def _section(self, s: _State, p: Path):
        km = self.pool.get()
        t0 = time.perf_counter()
        s.job.notebook(p, km)
        self.memos.ran(km, s.index, memo_names(p), time.perf_counter() - t0)
        return p

    def _late(self, s: _State):
        km = self.pool.get()
        p = self.memos.pick(km, s.index, s.queue)
        if p is None:  # the study failed meanwhile and its queue was cleared
            return None
        t0 = time.perf_counter()
        s.job.notebook(p, km)
        self.memos.ran(km, s.index, memo_names(p), time.perf_counter() - t0)
        return p

    # -- the loop

    def run(self) -> None:
        while True:
            while len(self.pending) < self.width:
                task = self._next()
                if task is None:
                    break
                self._submit(*task)
            if not self.pending:
                return
            done, _ = wait(list(self.pending), return_when=FIRST_COMPLETED)
            for fut in done:
                s, kind, p = self.pending.pop(fut)
                self._done(s, kind, p, fut)

    def _done(self, s: _State, kind: str, p, fut) -> None:
        exc = fut.exception()
        if kind == "setup":
            if exc is not None:
                s.job.discard()
                if not isinstance(exc, InputError):
                    raise exc
                s.stage = "done"
                self.outcomes[s.index] = exc
                return
            s.stage = "sections"
            s.queue = deque(s.job.sections())
        elif kind in ("notebook", "late"):
            s.running -= 1
            if kind == "late" and exc is None:
                p = fut.result()
            if exc is not None:
                if not isinstance(exc, NotebookFailed):
                    raise exc
                if s.failed is None:
                    s.failed = exc
                s.queue.clear()
                s.unclaimed = 0
            elif p is not None:
                if self.on_notebook_done:
                    self.on_notebook_done(p)
                if self.on_progress:
                    self.on_progress(s.job.name)
        elif kind == "finish":
            if exc is not None:
                raise exc
            self.outcomes[s.index] = s.job.publish()
            s.stage = "done"
            return
        if s.failed is not None:
            if not s.running:
                self.outcomes[s.index] = s.job.keep_failed(s.failed)
                s.stage = "done"
            return
        if s.stage == "sections" and not s.queue and not s.running:
            s.stage = "late"
            s.queue = deque(s.job.late())
            s.unclaimed = len(s.queue)
