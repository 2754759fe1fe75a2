"""End-to-end timings of the kit (wall clock), against the floor of DESIGN.md §6.

    .venv/bin/python benchmarks/bench_pipeline.py [--big-clients 230000] [--skip-big]

1. floor: five trivial notebooks (open the study, record one figure) through the same runner, two
   at a time — kernel start, imports and HTML export, nothing else;
2. the bundled sample study, all notebooks, default settings;
3. a generated salon with about one million visits: `check` (read + validate) and the full run.

Prints a Markdown table; the figures go into benchmarks/RESULTS.md by hand, with the machine.
"""
from __future__ import annotations

import argparse
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def wall(cmd) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--big-clients", type=int, default=230_000)
    ap.add_argument("--skip-big", action="store_true")
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args(argv)
    from conftest import make_notebook

    py = sys.executable
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        trivial = tmp / "trivial"
        for i in range(1, 6):
            make_notebook(trivial / f"0{i}_t{i}.ipynb", f'ctx.record("t{i}", {{"ok": 1}})')
        floor = min(wall([py, "-m", "analysis", "run", "--notebooks", str(trivial), "--out", str(tmp / "r0"),
                          "--jobs", "2", "--quiet"]) for _ in range(args.repeats))
        rows.append(("floor: 5 trivial notebooks, 2 at a time", floor, "1.0×"))
        sample = min(wall([py, "-m", "analysis", "run", "--out", str(tmp / "r1"), "--quiet"])
                     for _ in range(args.repeats))
        rows.append(("sample study (13k visits), all notebooks", sample, f"{sample / floor:.2f}×"))
        if not args.skip_big:
            big = tmp / "big"
            t_gen = wall([py, "-m", "analysis", "sample", str(big), "--clients", str(args.big_clients)])
            n_visits = sum(1 for _ in open(big / "visits.csv", encoding="utf-8")) - 1
            rows.append((f"generate a salon of {n_visits:,} visits", t_gen, ""))
            rows.append((f"check (read + validate) {n_visits:,} visits", wall([py, "-m", "analysis", "check", str(big)]), ""))
            t_big = wall([py, "-m", "analysis", "run", str(big), "--out", str(tmp / "r2"), "--quiet"])
            rows.append((f"full run, {n_visits:,} visits", t_big, f"{t_big / floor:.2f}×"))
            shutil.rmtree(big, ignore_errors=True)
    print(f"Machine: {platform.machine()}, {platform.processor() or 'cpu'}, Python {platform.python_version()}")
    print("\n| task | wall | against the floor |\n|---|---:|---:|")
    for name, t, rel in rows:
        print(f"| {name} | {t:.1f} s | {rel} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
