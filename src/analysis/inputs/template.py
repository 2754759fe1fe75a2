"""``python -m analysis new DIR``: a ready-to-fill study folder.

Writes only what must be filled: ``study.yaml`` (every assumption commented out at its default, with
its meaning and where the default comes from) and ``visits.csv`` (the one required table, header
only).  The optional tables are described in the comments of study.yaml (:data:`OPTIONAL`) and in
data/README.md; an optional file left with a header only is skipped by ``check`` with a note.
Nothing that exists is overwritten.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from analysis.errors import InputError, Problem
from analysis.inputs.study import TOP, _is_leaf, schema

__all__ = ["TEMPLATES", "OPTIONAL", "study_yaml_text", "write_template", "name_lines", "study_names"]

#: Files ``new`` writes (header only): just the required table.
TEMPLATES = {
    "visits.csv": "visit_id,date,client_id,service,block,specialist_id,amount,discount,consumables_cost,status",
}

#: Optional tables, described in study.yaml's comments: file, header, what it unlocks (en, ru).
OPTIONAL = {
    "services.csv": ("service,block,price,consumables_cost,duration_min",
                     "list prices, consumables and durations: margins and workload",
                     "цены, расходные материалы и длительность: маржа и нагрузка"),
    "staff.csv": ("specialist_id,block,role,hired,left,monthly_fixed_pay,commission_rate",
                  "specialists, tenures and pay: departures and pay schemes; block may be empty for "
                  "administrators, managers, directors and others who serve the whole salon (say so in role)",
                  "специалисты, стаж и оплата: уходы и схемы оплаты; block можно оставить пустым для "
                  "администраторов, менеджеров, управляющих и других, кто работает на весь салон (укажите в role)"),
    "clients.csv": ("client_id,first_visit,channel",
                    "first visit ever and channel: new against old clients",
                    "первый визит и канал: новые и старые клиенты"),
    "memberships.csv": ("client_id,start,end,plan,price_per_period,period",
                        "memberships and their fees: the membership model",
                        "абонементы и их стоимость: модель абонементов"),
}


def _dump(value) -> str:
    text = yaml.safe_dump(value, allow_unicode=True, default_flow_style=True, sort_keys=False).strip()
    return text.removesuffix("...").strip()


def _lines(tree: dict, indent: int, out: list[str]) -> None:
    pad = "  " * indent
    for key, node in tree.items():
        if _is_leaf(node):
            out.append(f"{pad}# {node.get('en', '')}")
            if node.get("ru"):
                out.append(f"{pad}# {node['ru']}")
            out.append(f"{pad}# source: {node.get('source', '')}")
            default = node["default"]
            if node["type"] == "list" and isinstance(default, list) and default:
                body = yaml.safe_dump({key: default}, allow_unicode=True, sort_keys=False, width=100)
                out.extend(f"{pad}# {line}" for line in body.rstrip().splitlines())
            else:
                out.append(f"{pad}# {key}: {_dump(default) if default is not None else ''}".rstrip())
            out.append("")
        elif isinstance(node, dict):
            out.append(f"{pad}# {key}:")
            _lines({k: v for k, v in node.items()}, indent + 1, out)


def study_names(name: str, name_ru: str | None = None) -> dict:
    """The study's name keys for study.yaml: ``{"name": …}`` and, when given, ``{"name_ru": …}``.

    ``name`` is shown on English reports (and on Russian ones without ``name_ru``); ``name_ru`` on
    Russian reports.  A generator of studies (``analysis sample``) writes both.

    >>> study_names("Sample salon", "Демо-салон")
    {'name': 'Sample salon', 'name_ru': 'Демо-салон'}
    """
    for key, value in (("name", name), ("name_ru", name_ru)):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ValueError(f"{key} must be a non-empty text, got {value!r}")
    return {"name": name, **({"name_ru": name_ru} if name_ru else {})}


def name_lines(name: str, name_ru: str | None = None) -> list[str]:
    """The name lines of a study.yaml: ``name:`` set and ``name_ru:`` (set, or commented out with
    its meaning)."""
    out = [f"name: {_dump(name)}",
           "# The name in Russian for Russian reports (otherwise they show name):",
           "# Название по-русски для русского отчёта (иначе в нём показывается name):"]
    out.append(f"name_ru: {_dump(name_ru)}" if name_ru else "# name_ru: ")
    return out


def study_yaml_text(name: str) -> str:
    """The commented study.yaml: name set, every other key commented out at its default."""
    tree = schema()
    out = [
        "# Care-manager study: assumptions. Every key below is optional; a commented key uses the",
        "# default shown. Uncertain values can be a number or {low: …, mode: …, high: …}.",
        "# Допущения исследования. Все ключи необязательны; закомментированный ключ берёт значение",
        "# по умолчанию. Неопределённые величины: число или {low: …, mode: …, high: …}.",
        "",
        *name_lines(name),
        "",
        "# Only visits.csv is required. Optional tables, each unlocking more of the reports — add the",
        "# file with this header when you have it (an optional file left with a header only is skipped):",
        "# Обязателен только visits.csv. Необязательные таблицы — добавьте файл с таким заголовком, если",
        "# он у вас есть (необязательный файл с одним заголовком пропускается):",
        *[f"#   {name}: {header}\n#     {en} / {ru}" for name, (header, en, ru) in OPTIONAL.items()],
        "",
        "# Exports of a salon system: set source_system (below) and its column names and status words",
        "# are known (yclients, altegio, fresha, mindbody, phorest, vagaro, zenoti; see data/README.md).",
        "",
        "# Map your export's files, column names and words here (wins over source_system), for example:",
        "# data:",
        "#   visits:",
        "#     file: export.csv",
        "#     columns: {Дата: date, Клиент: client_id, Сотрудник: specialist_id, Услуга: service,",
        "#               Направление: block, Сумма: amount, Статус: status}",
        "#     values: {status: {Клиент пришел: done, Клиент не пришел: no_show, Отмена: cancelled}}",
        "#     date_format: \"%m/%d/%Y\"     # only when dates are written month first",
        "#     duplicates: keep           # or drop: rows exported twice (no visit ids)",
        "#     refunds: reject            # or net: negative amounts taken off the client's visits",
        "#   mask_personal_values: false  # true: phones / e-mails inside service or block names pseudonymised",
        "",
    ]
    top = {k: v for k, v in tree.items() if _is_leaf(v) and k not in ("name", "name_ru", "data")}
    _lines(top, 0, out)
    for section, node in tree.items():
        if _is_leaf(node) or section == TOP:
            continue
        out.append(f"# ---- {section} " + "-" * max(0, 70 - len(section)))
        out.append(f"# {section}:")
        _lines(node, 1, out)
    return "\n".join(out).rstrip() + "\n"


def write_template(out_dir) -> Path:
    """Create ``out_dir`` with study.yaml and the visits template; refuses to overwrite files."""
    out = Path(out_dir)
    existing = [n for n in ["study.yaml", *TEMPLATES, *OPTIONAL] if (out / n).exists()]
    if existing:
        raise InputError(Problem(str(out), f"already holds {', '.join(existing)}; choose an empty folder."))
    out.mkdir(parents=True, exist_ok=True)
    (out / "study.yaml").write_text(study_yaml_text(out.resolve().name), encoding="utf-8")
    for name, header in TEMPLATES.items():
        (out / name).write_text(header + "\n", encoding="utf-8")
    return out
