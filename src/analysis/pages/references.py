"""The references page: every source the kit's defaults, models and pages rely on, in full.

Each entry is a catalogue key ``refs.<id>`` (the full citation, in each language); :data:`GROUPS`
gives their order.  The runner writes the page into every report folder as ``references.html``;
assumption tables link to it, and to an entry as ``references.html#<id>``.
"""
from __future__ import annotations

import html
import re
from pathlib import Path

from markupsafe import Markup

from analysis.pages.words import say

__all__ = ["GROUPS", "ids", "href", "page", "write", "FILE"]

FILE = "references.html"

#: (group key, entry ids): models and methods, industry figures and help-centre pages, law, the kit.
GROUPS = (
    ("models", ("bgnbd", "sbg", "rfm_clv", "gamma_gamma", "colombo_jiang", "kaplan_meier", "erlang",
                "kleinrock", "smith_whitt", "owasp_csv")),
    ("industry", ("phorest", "mindbody", "zenoti", "meevo", "boulevard", "strategies", "salontoday",
                  "crystal_focus", "kitomba", "neill", "refine", "cream", "ihrsa", "fitronics", "pfender",
                  "ru_commission", "nailberry", "fresha", "vagaro", "altegio", "good_salon_guide",
                  "lapsed_rule", "job_ads")),
    ("law", ("tax_code_425", "labour_code_91", "key_rate", "minimum_wage_ru", "minimum_wage_us")),
    ("kit", ("source_document", "kit_assumption")),
)


def ids() -> list[str]:
    """Every entry's id, in page order."""
    return [i for _, group in GROUPS for i in group]


def href(ref_id: str | None = None) -> str:
    """The link to the references page, or to one entry on it."""
    return FILE + (f"#{ref_id}" if ref_id else "")


_URL = re.compile(r"(https?://[^\s<>\"]+[^\s<>\".,;)])")


def _linked(text: str) -> str:
    return _URL.sub(lambda m: f'<a href="{m.group(1)}">{m.group(1)}</a>', html.escape(text, quote=False))


def _groups(lang: str) -> list[dict]:
    n, out = 0, []
    for group, entries in GROUPS:
        items = []
        for ref_id in entries:
            n += 1
            items.append({"id": ref_id, "n": n, "html": Markup(_linked(say(f"refs.{ref_id}", lang)))})
        out.append({"key": group, "entries": items})
    return out


def page(lang: str = "en", css: str | None = None, nav: str = "") -> str:
    """The whole ``references.html`` (template ``shell/references.html.j2``; no script, no network
    request).  ``css`` defaults to the kit's style."""
    from analysis.pages import html as pages_html

    env = pages_html._env()
    css = css if css is not None else pages_html.kit_css() + "\n" + pages_html.shell_css()
    return env.get_template("shell/references.html.j2").render(
        lang=lang, title=say("refs.title", lang), css=Markup(css), nav=Markup(nav or ""), footer="",
        groups=_groups(lang))


def write(path, lang: str = "en", nav: str = "") -> Path:
    """Write ``references.html`` with the kit's style."""
    path = Path(path)
    path.write_text(page(lang, nav=nav), encoding="utf-8")
    return path
