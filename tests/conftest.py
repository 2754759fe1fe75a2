"""Shared fixtures: tiny studies and tiny notebooks, so pipeline tests run in seconds."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
CDNOW = ROOT / "data" / "external" / "cdnow"

os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")

PARAMS = 'study_dir = ""\nlang = ""\nresults_path = ""\ndata_dir = ""\noverrides = "{}"'


def make_notebook(path: Path, body: str, *, en: str = "# English heading", ru: str = "# Русский заголовок"):
    """A notebook in the kit's shape: parameters cell, one markdown cell per language, one code cell."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    p = nbformat.v4.new_code_cell(PARAMS)
    p.metadata["tags"] = ["parameters"]
    m_en = nbformat.v4.new_markdown_cell(en)
    m_en.metadata["tags"] = ["lang-en"]
    m_ru = nbformat.v4.new_markdown_cell(ru)
    m_ru.metadata["tags"] = ["lang-ru"]
    code = nbformat.v4.new_code_cell(
        "import analysis.pages.notebook as nb\n"
        "ctx = nb.open_study(study_dir, lang, results_path, data_dir, overrides)\n" + body)
    nb.cells = [p, m_en, m_ru, code]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


@pytest.fixture
def tiny_study(tmp_path) -> Path:
    """A study with bare visits (client_id, date, amount) and a short study.yaml."""
    d = tmp_path / "tiny"
    d.mkdir()
    (d / "visits.csv").write_text(
        "client_id,date,amount\n"
        "c1,2024-01-03,1500\nc1,2024-02-10,1800\nc2,2024-01-05,900\nc3,2024-03-01,2500\nc3,2024-03-20,2100\n",
        encoding="utf-8")
    (d / "study.yaml").write_text("name: Tiny salon\ncurrency: RUB\nhorizon_months: 12\n", encoding="utf-8")
    return d


@pytest.fixture
def tiny_notebooks(tmp_path) -> Path:
    """Two independent notebooks and a summary that reads their figures."""
    d = tmp_path / "nbs"
    make_notebook(d / "01_first.ipynb",
                  'ctx.say("Visits: " + ctx.num(len(ctx.tables.visits)), "Визитов: " + ctx.num(len(ctx.tables.visits)))\n'
                  'ctx.record("first", {"visits": len(ctx.tables.visits), "lang_is_ru": ctx.lang == "ru",\n'
                  '                     "horizon": ctx.study.horizon_months})')
    make_notebook(d / "02_second.ipynb",
                  'import matplotlib.pyplot as plt\nplt.plot([1, 2, 3]); plt.show()\n'
                  'ctx.record("second", {"clients": ctx.tables.visits["client_id"].nunique()})')
    make_notebook(d / "05_summary.ipynb",
                  'r = ctx.results()["figures"]\n'
                  'ctx.record("summary", {"total": r["first"]["visits"] + r["second"]["clients"]})')
    return d


@pytest.fixture
def run_cli():
    """Run ``python -m analysis`` in a subprocess; returns CompletedProcess."""
    import subprocess

    def _run(*args, cwd=None):
        return subprocess.run([sys.executable, "-m", "analysis", *map(str, args)], capture_output=True,
                              text=True, cwd=cwd or ROOT)
    return _run


# CDNOW, the published BG/NBD example: its customer summary as the kit's RFM columns, and the fit on it
# (shared by the model tests).
@pytest.fixture(scope="module")
def cdnow_summary():
    import pandas as pd

    d = pd.read_csv(CDNOW / "cdnow_customers_summary_with_transactions.csv")
    return d.rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"})


@pytest.fixture(scope="module")
def cdnow_fit(cdnow_summary):
    from analysis.models.bgnbd import fit_bgnbd

    return fit_bgnbd(cdnow_summary)
