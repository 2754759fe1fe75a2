"""The references page: every source the kit's defaults, models and pages rely on, in full.

Each entry is a catalogue key ``refs.<id>`` (the full citation, in each language); :data:`GROUPS`
gives their order.  The runner writes the page into every report folder as ``references.html``;
assumption tables link to it, and to an entry as ``references.html#<id>``.
"""
from __future__ import annotations

import html
import re
from pathlib import Path

from .words import say

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
    ("law", ("tax_code_425", "labour_code_91", "key_rate")),
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


def body(lang: str = "en") -> str:
    """The page's content (headings and numbered entries), for a report page or the index."""
    parts = [f"<h1>{html.escape(say('refs.title', lang))}</h1>",
             f"<p class=\"kit-meta\">{html.escape(say('refs.intro', lang))}</p>"]
    n = 0
    for group, entries in GROUPS:
        parts.append(f"<h2>{html.escape(say(f'refs.group.{group}', lang))}</h2>")
        items = []
        for ref_id in entries:
            n += 1
            items.append(f'<li id="{ref_id}" value="{n}">{_linked(say(f"refs.{ref_id}", lang))}</li>')
        parts.append('<ol class="kit-refs">' + "".join(items) + "</ol>")
    return "".join(parts)


def page(lang: str = "en", css: str = "", nav: str = "") -> str:
    """The whole ``references.html`` (no script, no network request)."""
    title = say("refs.title", lang)
    return (f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1.0">'
            f"<title>{html.escape(title)}</title><style>{css}</style></head><body>"
            f'{f"<nav class=kit-nav>{nav}</nav>" if nav else ""}<main>{body(lang)}</main></body></html>\n')


def write(path, lang: str = "en", nav: str = "") -> Path:
    """Write ``references.html`` with the kit's style."""
    from importlib import resources

    css = (resources.files("analysis") / "templates" / "kit.css").read_text(encoding="utf-8")
    path = Path(path)
    path.write_text(page(lang, css, nav), encoding="utf-8")
    return path
