"""Render every page of a study's reports in headless Chromium, desktop and phone width, both
languages, so the reports can be reviewed by eye.

    python scripts/screenshots.py [STUDY_DIR] [--out screenshots/] [--reports ROOT] [--slice 1600]

Runs the study twice (``--lang en`` and ``--lang ru``) into a scratch reports folder (or, with
``--reports ROOT``, takes the pages already in ``ROOT/<lang>/<study>/``), then writes
``<out>/<lang>/<page>-desktop.png`` and ``-phone.png``: the whole page, from a tall window trimmed
of the blank space below the page's end.  ``--slice H`` also cuts each into pieces ``H`` pixels
high (``-phone-1.png``, ...), small enough to read in an image viewer.  Needs Debian's
``chromium`` package; trimming and slicing need Pillow (matplotlib brings it).
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Window width and the tallest page captured, in CSS pixels (desktop 1280, a phone 390).
SIZES = {"desktop": (1280, 12000), "phone": (390, 16000)}


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("Chromium not found. On Debian/Ubuntu: sudo apt-get install chromium")


def shoot(browser: str, page: Path, png: Path, size: tuple[int, int]) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        "--no-first-run", "--disable-quic", f"--user-data-dir={profile}",
                        f"--window-size={size[0]},{size[1]}", f"--screenshot={png}", page.as_uri()],
                       check=True, capture_output=True, timeout=120)


def trim(png: Path, slice_px: int = 0) -> list[Path]:
    """Cut the blank space below the page's end; with ``slice_px`` also write pieces of that height."""
    try:
        import numpy as np
        from PIL import Image
    except ImportError:  # pragma: no cover - the screenshot stays as taken
        return [png]
    with Image.open(png) as im:
        im.load()
    grey = np.asarray(im.convert("L"))
    rows = np.flatnonzero(grey.min(axis=1) < 250)
    bottom = int(rows.max()) + 24 if rows.size else im.height
    im = im.crop((0, 0, im.width, min(bottom, im.height)))
    im.save(png)
    pieces = []
    if slice_px:
        for i, top in enumerate(range(0, im.height, slice_px), start=1):
            piece = png.with_name(f"{png.stem}-{i}.png")
            im.crop((0, top, im.width, min(top + slice_px, im.height))).save(piece)
            pieces.append(piece)
    return [png, *pieces]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("study", nargs="?", default=str(ROOT / "data" / "sample"))
    ap.add_argument("--out", default=str(ROOT / "screenshots"))
    ap.add_argument("--langs", nargs="+", default=["en", "ru"])
    ap.add_argument("--reports", help="take the pages from ROOT/<lang>/<study>/ instead of running the study")
    ap.add_argument("--slice", type=int, default=0, metavar="PX", help="also cut each screenshot into pieces")
    ap.add_argument("--pages", nargs="*", help="only these pages (file names without .html)")
    args = ap.parse_args(argv)
    browser = chromium()
    out = Path(args.out)
    name = Path(args.study).resolve().name
    with tempfile.TemporaryDirectory() as scratch:
        for lang in args.langs:
            root = Path(args.reports or scratch) / lang
            if not args.reports:
                subprocess.run([sys.executable, "-m", "analysis", "run", args.study, "--lang", lang,
                                "--out", str(root), "--quiet"], check=True)
            (out / lang).mkdir(parents=True, exist_ok=True)
            for page in sorted((root / name).glob("*.html")):
                if args.pages and page.stem not in args.pages:
                    continue
                for label, size in SIZES.items():
                    png = out / lang / f"{page.stem}-{label}.png"
                    shoot(browser, page, png, size)
                    for made in trim(png, args.slice):
                        print(made)
    return 0


if __name__ == "__main__":
    sys.exit(main())
