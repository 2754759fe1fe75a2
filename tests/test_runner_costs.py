"""The runner's cheaper ways give the same pages: the HTML exporter kept per thread, the kernels' and
the CLI's import-time objects frozen out of the garbage collector (benchmarks/RESULTS.md, "The sample against the floor")."""
from __future__ import annotations

import base64
import copy
import io
import threading

import nbformat
import pytest

from analysis.run import report


def _png(width_in: float) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width_in, 2))
    ax.plot([0, 1, 2], [2, 0, 1])
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii") + "\n"  # as the inline backend stores it


def _notebook():
    nb = nbformat.v4.new_notebook()
    md_en = nbformat.v4.new_markdown_cell("# Title\n\nSome *words* and a table:\n\n| a | b |\n|---|---|\n| 1 | 2 |")
    md_en.metadata["tags"] = ["lang-en"]
    md_ru = nbformat.v4.new_markdown_cell("# Заголовок\n\nСлова.")
    md_ru.metadata["tags"] = ["lang-ru"]
    code = nbformat.v4.new_code_cell("plot()")
    code.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="printed\n"),
        nbformat.v4.new_output("stream", name="stderr", text="a warning\n"),
        nbformat.v4.new_output("display_data", data={"image/png": _png(4), "text/plain": "<Figure>"}),
        nbformat.v4.new_output("display_data", data={"image/png": _png(14), "text/plain": "<Figure>"}),
        nbformat.v4.new_output("display_data", data={"text/html": "<table><tr><td>1</td></tr></table>"}),
        nbformat.v4.new_output("display_data", data={
            "image/svg+xml": '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><path d="M0 0L10 10"/>'
                             '<text x="1" y="5">chart</text></svg>', "text/plain": "<Figure>"}),
        nbformat.v4.new_output("display_data", data={"image/png": "not base64 <b>", "text/plain": "odd"}),
    ]
    empty = nbformat.v4.new_code_cell("x = 1")
    return nbformat.from_dict({**nb, "cells": [md_en, md_ru, code, empty]})


def _as_before(nb, lang, title, nav, footer, with_code):
    """export_html as it was: a new exporter for each page."""
    nb = report.filter_language(nb, lang, with_code)
    if not with_code:
        nb.cells = [c for c in nb.cells if not (c.cell_type == "code" and not c.get("outputs"))]
    report._mark_wide_charts(nb)
    nb.metadata["title"] = title
    body, _ = report._new_exporter(with_code, lang).from_notebook_node(nb, resources={
        "kit_css": report._kit_css(), "kit_nav": nav, "kit_footer": footer,
        "language_code": lang, "metadata": {"name": title}})
    return body


@pytest.mark.parametrize("with_code", [False, True])
def test_export_html_is_the_same_page_as_before(with_code):
    nb = _notebook()
    for lang in ("en", "ru", "en"):  # the second "en" reuses this thread's exporter
        before = _as_before(copy.deepcopy(nb), lang, "T — s", "<nav>n</nav>", "<p>f</p>", with_code)
        work = copy.deepcopy(nb)
        now = report.export_html(work, lang, "T — s", "<nav>n</nav>", "<p>f</p>", with_code)
        assert now == before
        assert now.count("data:image/png;base64,") == 4  # the odd one too, as before
        # the notebook keeps its charts (export_html changes it only as it always did)
        shown = [o for c in work.cells if c.cell_type == "code" for o in c.outputs]
        assert [o["data"]["image/png"] for o in shown if "image/png" in o.get("data", {})] == \
            [o["data"]["image/png"] for o in nb.cells[2].outputs if "image/png" in o.get("data", {})]


def test_each_thread_keeps_its_own_exporter():
    mine = report._exporter(False, "en")
    assert report._exporter(False, "en") is mine
    assert report._exporter(True, "en") is not mine and report._exporter(False, "ru") is not mine
    other = []
    t = threading.Thread(target=lambda: other.append(report._exporter(False, "en")))
    t.start()
    t.join()
    assert other[0] is not mine


def test_warm_up_freezes_what_it_imported_after_collecting():
    lines = report.WARM_UP.splitlines()
    assert lines[-1] == "import gc; gc.collect(); gc.freeze()"
    compile(report.WARM_UP, "<warm-up>", "exec")


def test_runner_imports_nbformat_without_the_iri_grammars():
    """A fresh process: the runner's import leaves rfc3987_syntax unloaded (its grammars cost ~0.75
    CPU-s), nbformat still validates, and the package stays importable for anyone who wants it."""
    import subprocess
    import sys

    code = "import sys\n" + (
        "import analysis.run.report as r\n"
        "assert 'rfc3987_syntax' not in sys.modules, 'grammars loaded'\n"
        "nb = r.nbformat.v4.new_notebook(); nb.cells.append(r.nbformat.v4.new_code_cell('1'))\n"
        "r.nbformat.validate(nb)\n"
        "bad = r.nbformat.from_dict({'nbformat': 4, 'nbformat_minor': 5, 'metadata': {}, 'cells': [{'cell_type': 'code'}]})\n"
        "try:\n    r.nbformat.validate(bad)\nexcept r.nbformat.ValidationError:\n    pass\nelse:\n    raise SystemExit('not validated')\n"
        "try:\n    import rfc3987_syntax\nexcept ImportError as e:\n    assert 'rfc3987_syntax' not in str(e) or 'No module' in str(e), e\n"
        "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
