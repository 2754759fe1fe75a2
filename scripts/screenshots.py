"""Render every page of a study's reports in headless Chromium, desktop and phone width, both
languages, so the reports can be reviewed by eye.

    python scripts/screenshots.py [STUDY_DIR] [--out screenshots/]

Runs the study twice (``--lang en`` and ``--lang ru``) into a scratch reports folder, then writes
``<out>/<lang>/<page>-desktop.png`` and ``-phone.png``.  Needs Debian's ``chromium`` package.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZES = {"desktop": (1280, 2400), "phone": (390, 3200)}


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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("study", nargs="?", default=str(ROOT / "data" / "sample"))
    ap.add_argument("--out", default=str(ROOT / "screenshots"))
    ap.add_argument("--langs", nargs="+", default=["en", "ru"])
    args = ap.parse_args(argv)
    browser = chromium()
    out = Path(args.out)
    name = Path(args.study).resolve().name
    with tempfile.TemporaryDirectory() as scratch:
        for lang in args.langs:
            root = Path(scratch) / lang
            subprocess.run([sys.executable, "-m", "analysis", "run", args.study, "--lang", lang,
                            "--out", str(root), "--quiet"], check=True)
            (out / lang).mkdir(parents=True, exist_ok=True)
            for page in sorted((root / name).glob("*.html")):
                for label, size in SIZES.items():
                    png = out / lang / f"{page.stem}-{label}.png"
                    shoot(browser, page, png, size)
                    print(png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
