"""Cost against visits: generate / check / run of generated salons of growing size.

    .venv/bin/python benchmarks/bench_scale.py [--visits 100000 1000000 5000000] [--steps generate check run]
    .venv/bin/python benchmarks/bench_scale.py --study DIR [--steps check run] [--repeats 3]

For each size, a sample salon with about that many visit rows is generated
(``python -m analysis sample DIR --clients N``, N = visits / 4.15), checked
(``python -m analysis check DIR``) and run end to end (``python -m analysis run DIR --quiet``), each
as its own process.  Per step:

* **wall**: elapsed seconds;
* **CPU**: user + system seconds of the step's process and all its descendants (the notebook
  kernels included), measured by sampling the process tree — CPU seconds are what a shared machine
  inflates least;
* **peak memory**: the largest sum of resident memory over the process tree (sampled every 0.1 s,
  so a very short spike can be missed).

``--study DIR`` measures an existing study folder instead of generating one (the same salon before
and after a change, without generating it again); ``--repeats N`` runs each step N times (report
the median of alternating runs).

Prints the machine (CPUs, memory, load average before the run) and a Markdown table; the figures go
into benchmarks/RESULTS.md by hand.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VISITS_PER_CLIENT = 4.15     # visit rows per client of the generator at its defaults (24 months)


class StepFailed(RuntimeError):
    """A step exited with an error: its last line of output and the wall time it took."""

    def __init__(self, message, wall):
        super().__init__(message)
        self.wall = wall


def step(cmd):
    """``measure(cmd)``, or (wall, nan, nan, error) when the step fails: the table goes on."""
    try:
        return (*measure(cmd), "")
    except StepFailed as exc:
        return exc.wall, float("nan"), float("nan"), str(exc)


def measure(cmd) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS bytes) of ``cmd`` and its descendants."""
    import psutil

    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    root = psutil.Process(proc.pid)
    cpu_seen: dict[int, float] = {}
    peak = 0
    done = threading.Event()

    def sample():
        nonlocal peak
        while not done.is_set():
            try:
                procs = [root] + root.children(recursive=True)
            except psutil.Error:
                procs = []
            rss = 0
            for p in procs:
                try:
                    with p.oneshot():
                        rss += p.memory_info().rss
                        c = p.cpu_times()
                        cpu_seen[p.pid] = c.user + c.system
                except psutil.Error:
                    pass
            peak = max(peak, rss)
            done.wait(0.1)

    th = threading.Thread(target=sample, daemon=True)
    before = os.times()
    th.start()
    _, err = proc.communicate()
    wall = time.perf_counter() - t0
    done.set()
    th.join()
    after = os.times()
    if proc.returncode != 0:
        lines = [ln for ln in err.decode(errors="replace").splitlines() if ln.strip()]
        raise StepFailed(lines[-1] if lines else f"exit code {proc.returncode}", wall)
    # descendants that were waited for are counted in this process's children times; the sampled
    # own times of every process seen cover any that were not (take the larger of the two)
    reaped = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return wall, max(reaped, sum(cpu_seen.values())), float(peak)


def machine() -> str:
    import psutil

    model = platform.processor() or "cpu"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    ncpu = len(os.sched_getaffinity(0))
    mem = psutil.virtual_memory().total / 2**30
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{platform.machine()}, {model}, {ncpu} CPUs, {mem:.0f} GiB; Python {platform.python_version()}; "
            f"load average before the run {load}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--visits", type=int, nargs="+", default=[100_000, 1_000_000, 5_000_000])
    ap.add_argument("--steps", nargs="+", default=["generate", "check", "run"],
                    choices=["generate", "check", "run"])
    ap.add_argument("--keep", type=Path, help="keep the generated studies under this folder")
    ap.add_argument("--study", type=Path, help="measure this study folder instead of generating salons")
    ap.add_argument("--repeats", type=int, default=1, help="run each step this many times")
    args = ap.parse_args(argv)
    py = sys.executable
    print(f"Machine: {machine()}", flush=True)
    rows = []
    if args.study is not None:
        with open(args.study / "visits.csv", "rb") as fh:
            n_visits = sum(1 for _ in fh) - 1
        with tempfile.TemporaryDirectory() as tmp:
            for i in range(max(1, args.repeats)):
                if "check" in args.steps:
                    rows.append((n_visits, "check", *step([py, "-m", "analysis", "check", str(args.study)])))
                if "run" in args.steps:
                    rows.append((n_visits, "run (all notebooks)", *step(
                        [py, "-m", "analysis", "run", str(args.study), "--out", str(Path(tmp) / f"r{i}"), "--quiet"])))
                print(f"  {rows[-1][1]}: wall {rows[-1][2]:.1f} s, CPU {rows[-1][3]:.1f} s, "
                      f"peak {rows[-1][4] / 2**30:.2f} GiB; load now {os.getloadavg()[0]:.1f}", flush=True)
        _table(rows)
        return 1 if any(r[5] for r in rows) else 0
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        for target in args.visits:
            clients = max(100, round(target / VISITS_PER_CLIENT))
            study = base / f"salon_{target}"
            gen = step([py, "-m", "analysis", "sample", str(study), "--clients", str(clients)])
            if gen[3]:
                rows.append((round(target), "generate", *gen))
                continue
            with open(study / "visits.csv", "rb") as fh:
                n_visits = sum(1 for _ in fh) - 1
            if "generate" in args.steps:
                rows.append((n_visits, "generate", *gen))
            if "check" in args.steps:
                rows.append((n_visits, "check", *step([py, "-m", "analysis", "check", str(study)])))
            if "run" in args.steps:
                rows.append((n_visits, "run (all notebooks)", *step(
                    [py, "-m", "analysis", "run", str(study), "--out", str(base / f"reports_{target}"),
                     "--quiet"])))
            for n, name, wall, cpu, peak, err in [r for r in rows if r[0] == n_visits]:
                print(f"  {n:,} visits, {name}: wall {wall:.1f} s, CPU {cpu:.1f} s, peak {peak / 2**30:.2f} GiB"
                      + (f"  FAILED: {err}" if err else ""), flush=True)
            if not args.keep:
                shutil.rmtree(study, ignore_errors=True)
                shutil.rmtree(base / f"reports_{target}", ignore_errors=True)
    _table(rows)
    return 1 if any(r[5] for r in rows) else 0


def _table(rows) -> None:
    print("\n| visits | step | wall | CPU | peak memory | CPU µs per visit |\n|---:|---|---:|---:|---:|---:|")
    for n, name, wall, cpu, peak, err in rows:
        if err:
            print(f"| {n:,} | {name} | failed after {wall:.0f} s: {err[:120]} | | | |")
        else:
            print(f"| {n:,} | {name} | {wall:.1f} s | {cpu:.1f} s | {peak / 2**30:.2f} GiB | {cpu / n * 1e6:.0f} |")


if __name__ == "__main__":
    sys.exit(main())
