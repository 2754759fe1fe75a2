"""Input at scale: generate a 5M-visit salon, then check a 10M-visit one.

    .venv/bin/python benchmarks/bench_input.py [--clients 1200000] [--keep DIR]

Steps, each its own process (``python -m analysis ...``):

1. **generate**: ``analysis sample DIR --clients N`` (N = 1,220,000 gives about 5M visit rows, 10M doubled);
2. **check 5M**: ``analysis check DIR`` on it;
3. **check 10M**: ``analysis check`` on a study whose visits are those 5M rows twice — the second
   copy with its own visit ids (``V…`` -> ``W…``) and its own clients (``C…`` -> ``D…``, in
   clients.csv too), so the ids stay distinct and the validation does the work of a 10M export.

Per step: wall seconds, CPU seconds (user + system of the step's process, which load inflates least)
and peak memory, the resident set size maximum of the process (``ru_maxrss`` from ``wait4``).  Prints
the machine and load, then a Markdown table for benchmarks/RESULTS.md.

The doubled study is written by a separate process (``--double SRC DST``): Linux counts in a child's
``ru_maxrss`` the peak of the process it was forked from, so this script itself stays small.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_scale import machine  # the same machine line as the other benchmarks

ROOT = Path(__file__).resolve().parents[1]


def measure(cmd) -> tuple[float, float, float, int]:
    """(wall s, CPU s, peak RSS bytes, exit code) of ``cmd``, a child process waited for with wait4."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss * 1024.0, proc.returncode


def doubled(src: Path, dst: Path) -> int:
    """A copy of study ``src`` whose visits (and clients) are there twice, with distinct ids; rows."""
    dst.mkdir(parents=True, exist_ok=True)
    for f in src.iterdir():
        if f.name not in ("visits.csv", "clients.csv"):
            shutil.copy(f, dst / f.name)
    raw = (src / "visits.csv").read_bytes()
    head, _, body = raw.partition(b"\n")
    second = re.sub(rb"(?m)^V", b"W", body)
    second = re.sub(rb",C(\d)", rb",D\1", second)
    (dst / "visits.csv").write_bytes(head + b"\n" + body + second)
    rows = body.count(b"\n") * 2
    raw = (src / "clients.csv").read_bytes()
    head, _, body = raw.partition(b"\n")
    (dst / "clients.csv").write_bytes(head + b"\n" + body + re.sub(rb"(?m)^C", b"D", body))
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=1_220_000)
    ap.add_argument("--keep", type=Path, help="keep the generated studies under this folder")
    ap.add_argument("--double", nargs=2, type=Path, metavar=("SRC", "DST"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.double:
        print(doubled(*args.double))
        return 0
    py = sys.executable
    print(f"Machine: {machine()}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        s5, s10 = base / "salon_5m", base / "salon_10m"
        for d in (s5, s10):
            shutil.rmtree(d, ignore_errors=True)
        gen = measure([py, "-m", "analysis", "sample", str(s5), "--clients", str(args.clients)])
        with open(s5 / "visits.csv", "rb") as fh:   # in pieces: this process stays small (see above)
            n5 = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 24), b"")) - 1
        rows.append((n5, "generate", *gen))
        rows.append((n5, "check", *measure([py, "-m", "analysis", "check", str(s5)])))
        n10 = int(subprocess.run([py, __file__, "--double", str(s5), str(s10)], check=True, capture_output=True,
                                 text=True).stdout.split()[-1])
        rows.append((n10, "check", *measure([py, "-m", "analysis", "check", str(s10)])))
        print(f"load average after: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print("\n| visit rows | step | wall | CPU | peak memory (RSS) | exit |\n|---:|---|---:|---:|---:|---:|")
    for n, name, wall, cpu, peak, code in rows:
        print(f"| {n:,} | {name} | {wall:.1f} s | {cpu:.1f} s | {peak / 2**30:.2f} GiB | {code} |")
    return 1 if any(r[5] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
