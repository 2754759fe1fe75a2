"""Give memory a finished step freed back to the system.

A kernel that ran a notebook on a million visits, or the runner after checking them, keeps the
freed memory in its allocators (Python's, pyarrow's pool, the C library's heap) and its resident
size stays at its peak.  With two kernels and the runner alive at once that is the run's peak.
"""
from __future__ import annotations

import ctypes
import gc
import sys

__all__ = ["release"]


#: Per-notebook caches that hold a notebook's tables after it ends: (module, name) of a dict.  They
#: are keyed by the tables' identity (``summary._ROLE_PREP``: the role cost's P&L baseline and client
#: profile; ``summary._TABLES_CACHE``: the tables the role cost falls back on), and the next notebook
#: reads its tables afresh, so no later notebook can hit them: between notebooks they only hold
#: ~75 MiB (a million visits) of last notebook's tables and inputs while the next one reads its own.
PER_NOTEBOOK = (("analysis.sections.summary", "_ROLE_PREP"), ("analysis.sections.summary", "_TABLES_CACHE"))


def release(forget: bool = False) -> None:
    """Collect garbage, then return unused pages of pyarrow's memory pool and of the C heap
    (``malloc_trim``, glibc only; elsewhere nothing more happens).  Values are untouched; only
    memory no object uses any more goes back.  With ``forget`` (between notebooks), the
    :data:`PER_NOTEBOOK` caches are emptied first.  Never raises."""
    if forget:
        for mod, name in PER_NOTEBOOK:
            cache = getattr(sys.modules.get(mod), name, None)
            if isinstance(cache, dict):
                cache.clear()
    gc.collect()
    try:
        if "pyarrow" in sys.modules:
            sys.modules["pyarrow"].default_memory_pool().release_unused()
    except Exception:  # pragma: no cover - an old pyarrow without release_unused
        pass
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # pragma: no cover - musl and other C libraries
            pass
