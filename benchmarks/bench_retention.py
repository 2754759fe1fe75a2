"""Benchmark of the retention models: BG/NBD on CDNOW and on one million simulated clients.

    .venv/bin/python benchmarks/bench_retention.py [--clients 1000000] [--repeats 20] [--study-clients 200000]
    .venv/bin/python benchmarks/bench_retention.py --analyse STUDY_DIR [--before SRC_DIR] [--runs 3]
    .venv/bin/python benchmarks/bench_retention.py --notebook STUDY_DIR [--before SRC_DIR] [--runs 3]

Prints the machine, versions and timings as a Markdown section for benchmarks/RESULTS.md.
``--analyse`` instead measures the CPU seconds of ``retention.analyse`` on one study (each run a
fresh process; the clock starts after the tables are read), alternating with the package at
``SRC_DIR`` (e.g. an earlier commit unpacked with ``git archive COMMIT src | tar -x -C DIR``) when
``--before`` is given: CPU seconds, which a loaded machine inflates far less than wall clock.
``--notebook`` measures the retention page's calls the same way (``analyse``, ``covered_analysis``,
``scenarios``, ``visits_outlook``, ``model_bootstrap`` with the study's refits, ``range_sources``):
CPU seconds of each, and the process's peak resident memory (tables read included).
Targets (issue "Retention and profit study"): CDNOW fit at least as fast as lifetimes 0.11.3
(41 ms on a 2-core machine); one million clients in a few seconds.
"""
from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy

from analysis.sections import retention as R
from analysis.models.bgnbd import aggregate_rows, simulate_bgnbd

ROOT = Path(__file__).resolve().parents[1]
CDNOW = ROOT / "data" / "external" / "cdnow"


def timed(fn, repeats):
    out, times = None, []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return out, times


def cpu_model() -> str:
    try:
        txt = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in txt.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


_ANALYSE = """
import sys, time
from analysis.sections import retention
from analysis.inputs.data import load_tables
from analysis.inputs.study import load_study
study = load_study(sys.argv[1]); tables = load_tables(study)
c0, w0 = time.process_time(), time.perf_counter()
a = retention.analyse(study, tables)
print(time.process_time() - c0, time.perf_counter() - w0, len(tables.visits), len(a.rfm))
"""


_NOTEBOOK = """
import sys, time, resource
from analysis.sections import retention
from analysis.models import simulate
from analysis.models.simulate import key_rng
from analysis.inputs.data import load_tables
from analysis.inputs.study import load_study
study = load_study(sys.argv[1]); tables = load_tables(study)
cpu = {}
def step(name, fn, *a, **k):
    c = time.process_time()
    out = fn(*a, **k)
    cpu[name] = time.process_time() - c
    return out
w0 = time.perf_counter()
a = step("analyse", retention.analyse, study, tables)
cov = step("covered", retention.covered_analysis, study, tables, analysis=a)
d = cov.analysis
draws = simulate.draws(study)
sc = step("scenarios", retention.scenarios, cov.study, cov.tables, draws, analysis=d)
if a.bgnbd is not None:
    step("outlook", retention.visits_outlook, a.rfm, a.bgnbd, 12, 0.1)
boot = step("bootstrap", retention.model_bootstrap, d, study.horizon_months, int(study["simulation.model_refits"]),
            key_rng(int(study["simulation.seed"]), "rng:model_refits"))
step("sources", retention.range_sources, cov.study, cov.tables, draws, d, boot)
wall = time.perf_counter() - w0
print(sum(cpu.values()), cpu["analyse"], cpu["bootstrap"], wall,
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, len(tables.visits), len(a.rfm))
"""


def _trees(before):
    """(name, source folder) pairs to alternate: ``before`` (a tree or its ``src``) when given, then this tree."""
    pairs = [("before", str(Path(before) / "src") if (Path(before) / "src").is_dir() else str(before))] if before else []
    return pairs + [("after", str(ROOT / "src"))]


def _run(code: str, study_dir, src: str) -> list[str]:
    """``code`` run on ``study_dir`` in a fresh interpreter importing the kit from ``src``: its printed words."""
    import os

    env = {**os.environ, "PYTHONPATH": src}
    return subprocess.run([sys.executable, "-c", code, str(study_dir)], env=env, check=True,
                          capture_output=True, text=True).stdout.split()


def notebook_cpu(study_dir, before=None, runs=3):
    """CPU seconds (all calls, analyse, bootstrap), wall and peak RSS (MiB) of the retention page's
    calls per run, alternating ``before`` and this tree, each run a fresh process."""
    trees = _trees(before)
    rows = []
    for i in range(runs):
        for name, src in trees:
            out = _run(_NOTEBOOK, study_dir, src)
            cpu, an, bo, wall, rss = map(float, out[:5])
            visits, clients = int(out[5]), int(out[6])
            rows.append((name, i + 1, cpu, an, bo, wall, rss))
            print(f"{name} run {i + 1}: {cpu:.2f} CPU-s (analyse {an:.2f}, bootstrap {bo:.2f}), {wall:.1f} s wall, "
                  f"peak RSS {rss:.0f} MiB ({visits:,} visits, {clients:,} clients)", flush=True)
    return rows


def analyse_cpu(study_dir, before=None, runs=3):
    """CPU and wall seconds of ``retention.analyse`` per run, alternating ``before`` and this tree."""
    trees = _trees(before)
    rows = []
    for i in range(runs):
        for name, src in trees:
            out = _run(_ANALYSE, study_dir, src)
            cpu, wall, visits, clients = float(out[0]), float(out[1]), int(out[2]), int(out[3])
            rows.append((name, i + 1, cpu, wall, visits, clients))
            print(f"{name} run {i + 1}: {cpu:.2f} CPU-s, {wall:.1f} s wall ({visits:,} visits, {clients:,} clients)",
                  flush=True)
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--analyse", help="study folder: CPU seconds of retention.analyse only")
    ap.add_argument("--notebook", help="study folder: CPU seconds and peak memory of the retention page's calls")
    ap.add_argument("--before", help="with --analyse / --notebook: a src tree (or its parent) to alternate with")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--clients", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--study-clients", type=int, default=200_000,
                    help="clients of a generated sample study for the whole retention run (0 = skip)")
    args = ap.parse_args(argv)
    if args.analyse:
        analyse_cpu(args.analyse, args.before, args.runs)
        return 0
    if args.notebook:
        notebook_cpu(args.notebook, args.before, args.runs)
        return 0

    raw = pd.read_csv(CDNOW / "CDNOW_sample.txt", sep=r"\s+", header=None,
                      names=["master_id", "client_id", "date", "cds", "amount"], dtype={"date": str})
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    raw["client_id"] = raw["client_id"].astype(str)
    rfm_df, t_rfm = timed(lambda: R.rfm(raw, "1997-09-30", "W"), 5)
    fit, t_fit = timed(lambda: R.fit_bgnbd(rfm_df), args.repeats)

    rng = np.random.default_rng(20261127)
    truth = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    T = rng.integers(1, 39 * 7 + 1, args.clients) / 7.0          # day-resolution dates, weeks
    t0 = time.perf_counter()
    sim = simulate_bgnbd(truth, T, rng, resolution=1 / 7)
    t_sim = time.perf_counter() - t0
    (_, w) = aggregate_rows(sim["frequency"], sim["recency"], sim["T"])
    big, t_big = timed(lambda: R.fit_bgnbd(sim), 3)

    study_row = None
    if args.study_clients:
        import tempfile

        from analysis.inputs.data import load_tables
        from analysis.models.simulate import draws
        from analysis.inputs.study import load_study

        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([sys.executable, "-m", "analysis", "sample", tmp, "--clients", str(args.study_clients),
                            "--months", "24"], check=True, capture_output=True)
            study = load_study(tmp)
            tables = load_tables(study)
            a, t_an = timed(lambda: R.analyse(study, tables), 2)
            _, t_sc = timed(lambda: R.scenarios(study, tables, draws(study), analysis=a), 3)
            study_row = (len(tables.visits), len(a.rfm), min(t_an), statistics.median(t_an), min(t_sc))

    cpu = cpu_model()
    ncpu = len(__import__("os").sched_getaffinity(0))
    lines = [
        f"## Retention: BG/NBD fit ({time.strftime('%Y-%m-%d')})",
        "",
        f"Machine: `{platform.machine()}` (uname -m), {cpu}, {ncpu} CPUs available; Python "
        f"{platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, pandas {pd.__version__}.",
        "Command: `.venv/bin/python benchmarks/bench_retention.py`. Times are wall clock, "
        "min / median of the repeats; the machine is shared, so the minimum is the fairer figure.",
        "",
        "| task | clients | distinct (x, t_x, T) rows | min | median | repeats |",
        "|---|---:|---:|---:|---:|---:|",
        f"| RFM summary of CDNOW raw transactions (6,919 rows) | {len(rfm_df):,} | – | "
        f"{min(t_rfm) * 1e3:.1f} ms | {statistics.median(t_rfm) * 1e3:.1f} ms | {len(t_rfm)} |",
        f"| BG/NBD fit + Hessian SEs, CDNOW | {fit.n:,} | "
        f"{len(aggregate_rows(rfm_df['frequency'], rfm_df['recency'], rfm_df['T'])[1]):,} | "
        f"{min(t_fit) * 1e3:.1f} ms | {statistics.median(t_fit) * 1e3:.1f} ms | {len(t_fit)} |",
        f"| BG/NBD fit + Hessian SEs, simulated | {args.clients:,} | {len(w):,} | "
        f"{min(t_big):.2f} s | {statistics.median(t_big):.2f} s | {len(t_big)} |",
    ]
    if study_row:
        lines.append(f"| whole retention run (`retention.analyse`: RFM, 3 fits, CLV, effect, KM, departures) on a "
                     f"generated sample study, {study_row[0]:,} visit rows | {study_row[1]:,} | – | "
                     f"{study_row[2]:.1f} s | {study_row[3]:.1f} s | 2 |")
        lines.append(f"| Monte Carlo scenarios (`retention.scenarios`, given the run) | {study_row[1]:,} | – | "
                     f"{study_row[4] * 1e3:.1f} ms | – | 3 |")
    lines += [
        "",
        f"CDNOW estimates: r = {fit.params['r']:.4f}, alpha = {fit.params['alpha']:.4f}, "
        f"a = {fit.params['a']:.4f}, b = {fit.params['b']:.4f}, LL = {fit.loglik:.2f} "
        "(published 0.243, 4.414, 0.793, 2.426, −9582.4).",
        f"Simulated {args.clients:,} clients (truth = the CDNOW estimates, 39-week window, whole days) in "
        f"{t_sim:.2f} s; fitted r = {big.params['r']:.4f}, alpha = {big.params['alpha']:.4f}, "
        f"a = {big.params['a']:.4f}, b = {big.params['b']:.4f}.",
        "Reference: lifetimes 0.11.3 `BetaGeoFitter` on CDNOW, 41 ms on a 2-core machine (issue target).",
        "",
    ]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
