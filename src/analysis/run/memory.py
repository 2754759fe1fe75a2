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


def release() -> None:
    """Collect garbage, then return unused pages of pyarrow's memory pool and of the C heap
    (``malloc_trim``, glibc only; elsewhere nothing more happens).  Values are untouched; only
    memory no object uses any more goes back.  Never raises."""
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
