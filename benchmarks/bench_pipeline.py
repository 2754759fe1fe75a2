"""End-to-end timings of the kit against the floor, and a batch of studies against one study.

    .venv/bin/python benchmarks/bench_pipeline.py [--repeats 3] [--copies 8] [--skip-floor] [--skip-batch]
                                                  [--big-clients 230000] [--skip-big]

1. **floor**, measured the plain way: as many trivial notebooks as the kit runs on the sample, each
   importing numpy, pandas, scipy, matplotlib and ``analysis`` and drawing one plot, executed by
   papermill (the environment's ``python3`` kernel, a new kernel per notebook) and exported to HTML
   by nbconvert, two at a time — no kit runner involved;
2. **sample**: the bundled sample study, all notebooks, ``--jobs 2``.  Floor and sample runs
   alternate (floor, sample, floor, sample, …) so a change of load hits both; the ratio is the median
   of the pairs' ratios;
3. **batch**: ``run`` of ``--copies`` copies of the sample in one call, ``--jobs 2``, against one
   sample study run just before it (target: at most 5 ×);
4. optionally a generated salon of about a million visits: ``check`` and the full run.

Every step runs as its own process; wall clock and CPU seconds (user + system of the process and
every descendant, the notebook kernels included) are measured by ``bench_scale.measure``.  On a shared
machine wall clock is inflated by other work, CPU seconds much less: compare both.  Prints the machine
and a Markdown table; the figures go into benchmarks/RESULTS.md by hand.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_scale import machine, measure  # noqa: E402

FLOOR_CELL = """import numpy, pandas, scipy.stats, matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import analysis
fig, ax = plt.subplots()
ax.plot(numpy.arange(10), numpy.arange(10) ** 2)
plt.show()
"""

FLOOR_RUNNER = '''"""The floor: papermill + nbconvert HTML, two notebooks at a time, nothing of the kit's runner."""
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import papermill as pm
from nbconvert import HTMLExporter

src, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)


def one(nb_path):
    executed = out / nb_path.name
    pm.execute_notebook(str(nb_path), str(executed), kernel_name="python3", progress_bar=False, log_output=False)
    body, _ = HTMLExporter(embed_images=True).from_notebook_node(nbformat.read(executed, as_version=4))
    (out / (nb_path.stem + ".html")).write_text(body, encoding="utf-8")


with ThreadPoolExecutor(2) as pool:
    list(pool.map(one, sorted(src.glob("*.ipynb"))))
'''


def _floor_notebooks(folder: Path, n: int) -> None:
    import nbformat

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(1, n + 1):
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.cells = [nbformat.v4.new_markdown_cell(f"# Trivial notebook {i}"), nbformat.v4.new_code_cell(FLOOR_CELL)]
        nbformat.write(nb, folder / f"{i:02d}_trivial.ipynb")


def _fmt(m) -> str:
    wall, cpu, peak = m
    return f"{wall:.1f} s | {cpu:.1f} s | {peak / 2**30:.2f} GiB"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3, help="alternating floor / sample pairs")
    ap.add_argument("--copies", type=int, default=8, help="copies of the sample in the batch")
    ap.add_argument("--skip-floor", action="store_true")
    ap.add_argument("--skip-batch", action="store_true")
    ap.add_argument("--big-clients", type=int, default=230_000)
    ap.add_argument("--skip-big", action="store_true")
    args = ap.parse_args(argv)
    py = sys.executable
    sample = ROOT / "data" / "sample"
    n_nb = len([p for p in (ROOT / "notebooks").glob("*.ipynb") if not p.name.startswith(".")])
    print(f"Machine: {machine()}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if not args.skip_floor:
            trivial = tmp / "trivial"
            _floor_notebooks(trivial, n_nb)
            runner = tmp / "floor_runner.py"
            runner.write_text(FLOOR_RUNNER)
            pairs = []
            for i in range(args.repeats):
                f = measure([py, str(runner), str(trivial), str(tmp / f"floor{i}")])
                s = measure([py, "-m", "analysis", "run", "--out", str(tmp / f"s{i}"), "--jobs", "2", "--quiet"])
                pairs.append((f, s))
                print(f"  pair {i + 1}: floor {_fmt(f)}; sample {_fmt(s)}; wall ratio {s[0] / f[0]:.2f}, "
                      f"CPU ratio {s[1] / f[1]:.2f}", flush=True)
            med = lambda xs: statistics.median(xs)  # noqa: E731
            floor = tuple(med([f[k] for f, _ in pairs]) for k in range(3))
            samp = tuple(med([s[k] for _, s in pairs]) for k in range(3))
            rows.append((f"floor: {n_nb} trivial notebooks (papermill + nbconvert), 2 at a time, median",
                         _fmt(floor), "1.00×"))
            rows.append((f"sample study, all {n_nb} notebooks, --jobs 2, median", _fmt(samp),
                         f"wall {med([s[0] / f[0] for f, s in pairs]):.2f}×, "
                         f"CPU {med([s[1] / f[1] for f, s in pairs]):.2f}× (median of {len(pairs)} pairs)"))
        if not args.skip_batch:
            studies = []
            for i in range(args.copies):
                d = tmp / "copies" / f"salon{i + 1}"
                shutil.copytree(sample, d)
                studies.append(str(d))
            one = measure([py, "-m", "analysis", "run", "--out", str(tmp / "one"), "--jobs", "2", "--quiet"])
            many = measure([py, "-m", "analysis", "run", *studies, "--out", str(tmp / "many"), "--jobs", "2",
                            "--quiet"])
            rows.append(("one sample study, --jobs 2", _fmt(one), "1.00×"))
            rows.append((f"{args.copies} copies of the sample in one call, --jobs 2", _fmt(many),
                         f"wall {many[0] / one[0]:.2f}×, CPU {many[1] / one[1]:.2f}×"))
        if not args.skip_big:
            big = tmp / "big"
            gen = measure([py, "-m", "analysis", "sample", str(big), "--clients", str(args.big_clients)])
            n_visits = sum(1 for _ in open(big / "visits.csv", encoding="utf-8")) - 1
            rows.append((f"generate a salon of {n_visits:,} visits", _fmt(gen), ""))
            rows.append((f"check (read + validate) {n_visits:,} visits",
                         _fmt(measure([py, "-m", "analysis", "check", str(big)])), ""))
            rows.append((f"full run, {n_visits:,} visits",
                         _fmt(measure([py, "-m", "analysis", "run", str(big), "--out", str(tmp / "r2"), "--quiet"])),
                         ""))
    print("\n| task | wall | CPU | peak memory | ratio |\n|---|---:|---:|---:|---|")
    for name, figures, rel in rows:
        print(f"| {name} | {figures} | {rel} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
