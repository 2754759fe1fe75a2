"""Command line: ``python -m analysis run|check|sample|new``.

Exit codes: 0 done; 2 bad input or config (a message per problem, no traceback); 1 internal error.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from analysis.errors import InputError

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    from analysis import __version__

    p = argparse.ArgumentParser(prog="python -m analysis",
                                description="Care-manager study kit: turn a salon's exports into reports.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run studies and write their HTML reports")
    run.add_argument("studies", nargs="*", metavar="STUDY_DIR",
                     help="study folders (default: the bundled sample, data/sample)")
    run.add_argument("--lang", choices=["en", "ru"], help="report language (default: the study's)")
    run.add_argument("--out", metavar="DIR", help="reports root (default: reports/)")
    run.add_argument("--jobs", type=int, default=None, metavar="N",
                     help="notebooks run in parallel, shared by all studies of the call (default: number "
                          "of cores); with --scheduler, per study on its worker (default: the worker's cores)")
    run.add_argument("--only", nargs="+", default=[], metavar="NAME",
                     help="run only these notebooks (e.g. retention staffing); other pages are kept")
    run.add_argument("--with-code", action="store_true", help="keep the code in the HTML (for consultants)")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="sets",
                     help="override a study.yaml value, dotted keys, YAML values (repeatable)")
    run.add_argument("--notebooks", metavar="DIR", help="run your own notebooks instead of the kit's")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                     help="run the studies on a Dask cluster (pip install 'care-manager-kit[cluster]'); "
                          "each study is one task on a worker, the reports come back into --out")

    check = sub.add_parser("check", help="validate a study's config and data only")
    check.add_argument("study", metavar="STUDY_DIR")
    check.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="sets")

    sample = sub.add_parser("sample", help="write the sample salon (a complete study folder)")
    sample.add_argument("out", metavar="OUT_DIR")
    sample.add_argument("--clients", type=int, default=3000)
    sample.add_argument("--months", type=int, default=24)
    sample.add_argument("--seed", type=int, default=None)
    sample.add_argument("--pilot-since", metavar="DATE", default=None,
                        help="first day of a care-manager pilot inside the generated months (ISO date)")
    sample.add_argument("--pilot-blocks", metavar="a,b", default=None,
                        help="pilot blocks, comma-separated (default: every block, no control group)")
    sample.add_argument("--pilot-effect", metavar="E", type=float, default=None,
                        help="cut of the dropout probability after a visit for the pilot group, 0-1 (default 0)")
    sample.add_argument("--hard", action="append", default=[], metavar="CASE",
                        help="build in a hard case (repeat or comma-separate): same_dropout, short_history, "
                             "one_specialist, memberships_only, zero_amounts")

    new = sub.add_parser("new", help="write a ready-to-fill study folder")
    new.add_argument("out", metavar="DIR")
    return p


def _cmd_run(args) -> int:
    from analysis.pages.notebook import default_study_dir
    from analysis.run.report import RunOptions, project_root, run_many
    from analysis.inputs.study import parse_overrides

    overrides = parse_overrides(args.sets)
    opts = RunOptions(lang=args.lang, overrides=overrides, only=args.only, with_code=args.with_code,
                      progress=not args.quiet and sys.stderr.isatty())
    if args.out:
        opts.out_root = Path(args.out)
    if args.notebooks:
        opts.notebooks_dir = Path(args.notebooks)
    if args.jobs:
        opts.jobs = max(1, args.jobs)
    opts.scheduler = args.scheduler
    if args.scheduler and not args.jobs:
        opts.jobs = 0  # on a cluster: as many notebooks at a time as the worker's machine has cores
    studies = args.studies or [default_study_dir()]
    # The modules imported so far (the runner's, nbformat's schema grammars, pandas) live as long as
    # this process: kept out of the garbage collector's full collections, which would walk their
    # ~200,000 objects again each time for nothing (about 0.1 CPU-s each).  Only this one-shot
    # command does it: a process that lives on (tests, a cluster worker) keeps its collector as it is.
    # The notebook runner, the HTML exporter and the kernel client every run imports are loaded first.
    import gc

    import jupyter_client.manager  # noqa: F401
    import nbconvert.exporters.html  # noqa: F401
    import papermill  # noqa: F401

    gc.freeze()
    code, _ = run_many(studies, opts)
    return code


#: ``check``'s lines: the key of :func:`analysis.inputs.data.summarize` and its catalogue label.
CHECK_LABELS = {"rows": "check.rows", "visits": "check.visits", "clients": "check.clients",
                "first_date": "check.first_date", "last_date": "check.last_date", "revenue": "check.revenue",
                "blocks": "check.blocks", "specialists": "check.specialists", "tables": "check.tables",
                "clients without a completed visit": "check.without_completed_visit",
                "columns left out": "check.columns_left_out", "notes": "check.notes"}


class _Count(int):
    """A count that picks a text's plural form and is written with grouped digits (``{n}``)."""

    lang = "en"

    def __format__(self, spec):
        from analysis.pages.i18n import number

        return number(int(self), self.lang) if not spec else int.__format__(self, spec)


def check_lines(study, tables, lang: str) -> list[str]:
    """What ``check`` prints for a valid study, in ``lang``: its name (``name_ru`` in Russian), then
    one line per figure of :func:`analysis.inputs.data.summarize` — counts with grouped digits,
    revenue in the study's currency, dates and blocks as the pages write them, each table with its
    rows ("1 row"), the notes on how the data were read."""
    import datetime as dt

    from analysis.inputs import data
    from analysis.pages import i18n
    from analysis.pages.labels import block_label, study_name
    from analysis.pages.words import say

    def fmt(_name, value):  # a note's fields as on the data-check page
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return i18n.number(value, lang, 0 if float(value).is_integer() else 2)
        return str(value)

    def note(n):
        fields = {k: fmt(k, v) for k, v in dict(n.fields).items()}
        count = _counted(int(n.n), lang) if n.n is not None and float(n.n).is_integer() else n.n
        text = say(n.code, lang, n=count, **fields)
        return say("check.warning", lang, text=text) if n.level == "warning" else text

    def value_text(key, value):
        if key == "revenue":
            return i18n.money(value, study.currency, lang)
        if key in ("first_date", "last_date"):
            return i18n.date(dt.date.fromisoformat(value), lang) if value else say("common.not_available", lang)
        if key == "blocks":
            return ", ".join(block_label(b, lang, study) for b in value) or say("common.not_available", lang)
        if key == "tables":
            return ", ".join(say("check.table_rows", lang, n=_counted(len(getattr(tables, t)), lang), table=t)
                             for t in data.TABLES if getattr(tables, t) is not None)
        if key == "notes":
            return "".join("\n    " + note(n) for n in tables.notes)
        if isinstance(value, (list, tuple)):
            return ", ".join(map(str, value)) or say("common.not_available", lang)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return i18n.number(value, lang, 0 if float(value).is_integer() else 2)
        return str(value)

    lines = [say("check.ok", lang, name=study_name(study, lang))]
    for key, value in data.summarize(tables, lang).items():
        label = say(CHECK_LABELS[key], lang) if key in CHECK_LABELS else key
        text = value_text(key, value)
        lines.append(f"  {label}:{'' if text.startswith(chr(10)) else ' '}{text}")
    return lines


def _counted(n: int, lang: str) -> int:
    return type("_C", (_Count,), {"lang": lang})(n)


def _cmd_check(args) -> int:
    from analysis.run.report import RunOptions, prepare
    from analysis.inputs.study import parse_overrides

    study, tables = prepare(args.study, RunOptions(overrides=parse_overrides(args.sets)))
    print("\n".join(check_lines(study, tables, study.language)))
    return 0


def _cmd_sample(args) -> int:
    from analysis.inputs import sample

    from analysis.errors import Problem

    for flag, value in (("--clients", args.clients), ("--months", args.months)):
        if value < 1:
            raise InputError(Problem(flag, f"must be a whole number of at least 1 (got {value})."))
    kwargs = {"clients": args.clients, "months": args.months}
    if args.seed is not None:
        kwargs["seed"] = args.seed
    if args.pilot_since is not None:
        kwargs.update(pilot_since=args.pilot_since, pilot_effect=args.pilot_effect or 0.0,
                      pilot_blocks=[b.strip() for b in (args.pilot_blocks or "").split(",") if b.strip()])
    elif args.pilot_blocks is not None or args.pilot_effect is not None:
        raise InputError(Problem("--pilot-since", "is needed with --pilot-blocks and --pilot-effect "
                                 "(the pilot's first day, e.g. --pilot-since 2024-03-01)."))
    hard = tuple(c.strip() for arg in args.hard for c in arg.split(",") if c.strip())
    if hard:
        unknown = [c for c in hard if c not in sample.HARD_CASES]
        if unknown:
            print(f"sample --hard: unknown case(s) {', '.join(unknown)}; choose from "
                  f"{', '.join(sample.HARD_CASES)}.", file=sys.stderr)
            return 2
        kwargs["hard"] = hard
    out = sample.write_sample(args.out, **kwargs)
    print(f"Sample study written to {out}")
    return 0


def _cmd_new(args) -> int:
    from analysis.inputs import template

    out = template.write_template(args.out)
    print(f"New study folder: {out}\nFill in the CSV files (or put your exports there and map their columns "
          f"in study.yaml), then run: python -m analysis check {out}")
    return 0


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    try:
        return {"run": _cmd_run, "check": _cmd_check, "sample": _cmd_sample, "new": _cmd_new}[args.command](args)
    except InputError as exc:
        n = len(exc.problems)
        print(f"Bad input ({n} problem{'s' if n > 1 else ''}):", file=sys.stderr)
        for p in exc.problems:
            print(f"  - {p}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM / SIGHUP during a run (report.Interrupted)
        print("Interrupted; earlier reports were left as they were.", file=sys.stderr)
        return 128 + getattr(exc, "signum", 2)
    except BrokenPipeError:  # output piped into a reader that stopped early (`check DIR | head`)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())   # Python's own flush at exit must not fail again
        return 0


if __name__ == "__main__":
    sys.exit(main())
