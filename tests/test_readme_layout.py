"""The README's layout section matches the tree of ``src/analysis/``.

The tree block under "For developers" names each folder and the modules in it; every module of the
package must be named under its folder, and every name there must exist.
"""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "src" / "analysis"


def _tree_block() -> dict[str, set[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("```\nsrc/analysis/\n", 1)[1].split("```", 1)[0]
    named: dict[str, set[str]] = {}
    folder = ""
    for line in block.splitlines():
        m = re.match(r"[├└]── (\S+)", line)
        if m:
            folder = m.group(1).rstrip("/") if m.group(1).endswith("/") else ""
            named.setdefault(folder, set()).add(m.group(1))
        named.setdefault(folder, set()).update(re.findall(r"\w+\.py|[a-z_]+/(?![A-Za-z])", line))
    return named


def test_every_module_is_named_under_its_folder():
    named = _tree_block()
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG)
        if path.name in ("__init__.py",) or "__pycache__" in rel.parts:
            continue
        if len(rel.parts) == 1:  # a top-level module may be named on any line
            assert any(path.name in names for names in named.values()), f"README's layout does not name {rel}"
        else:
            top = rel.parts[0]
            shown = rel.parts[1] + ("/" if len(rel.parts) > 2 else "")
            assert top in named, f"README's layout does not name the folder {top}/"
            assert shown in named[top], f"README's layout does not name {rel} under {top}/"


def test_every_name_in_the_layout_exists():
    for folder, names in _tree_block().items():
        base = PKG / folder
        for name in names:
            if name.endswith(".py"):
                assert (base / name).is_file() or (PKG / name).is_file(), f"README names {folder}/{name}, not in the tree"
            elif name.endswith("/") and name.rstrip("/") != folder:
                assert (base / name).is_dir() or (PKG / name).is_dir(), f"README names {folder}/{name}, not in the tree"
