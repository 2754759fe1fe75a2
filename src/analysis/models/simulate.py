"""Monte Carlo of the study's uncertain assumptions.

Every uncertain assumption (``{low, mode, high}`` in study.yaml) is drawn once per scenario from
its triangular distribution.  The draws of one key depend only on the study's seed and the key's
name, so every section that asks for ``"retention.care_manager_effect"`` with the same seed and
size sees the *same* scenarios; the summary can therefore add the sections' results scenario by
scenario and keep their correlations (one joint Monte Carlo without a central loop).
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from analysis.inputs.study import Study, Uncertain

__all__ = ["Draws", "draws", "quantiles", "summarize", "key_rng"]


def key_rng(seed: int, key: str) -> np.random.Generator:
    """A generator that depends only on ``seed`` and ``key`` (CRC32 of the name)."""
    return np.random.default_rng([int(seed), zlib.crc32(key.encode("utf-8"))])


@dataclass
class Draws:
    """Scenario draws of a study's assumptions.

    ``d["staffing.payroll_tax_rate"]`` is an array of ``n`` values (constant for a fixed number).
    ``d.fixed(key, value)`` returns a copy with one assumption fixed (for tornado charts); ``value`` may
    also be an array of ``n`` values, e.g. the pilot's measured effect replacing the assumed one.
    """

    study: Study
    n: int
    seed: int
    _fixed: dict | None = None

    def __getitem__(self, key: str) -> np.ndarray:
        if self._fixed and key in self._fixed:
            v = np.asarray(self._fixed[key], float)  # a number, or n values (a measured distribution)
            return np.full(self.n, float(v)) if v.ndim == 0 else v.copy()
        value = self.study[key]
        if isinstance(value, Uncertain):
            return value.sample(key_rng(self.seed, key), self.n)
        return np.full(self.n, float(value))

    def fixed(self, key: str, value: float) -> "Draws":
        f = dict(self._fixed or {})
        f[key] = value
        return Draws(self.study, self.n, self.seed, f)

    def on(self, study: Study) -> "Draws":
        """The same scenarios (seed, size, fixed values) read from another version of the study
        (e.g. :func:`analysis.sections.pnl.localise`'s, with money defaults in the study's currency)."""
        return self if study is self.study else Draws(study, self.n, self.seed, self._fixed)

    def uncertain_keys(self, prefix: str = "") -> list[str]:
        """Dotted keys under ``prefix`` whose value is a range (low < high)."""
        from analysis.inputs.study import _leaves, _schema_cached

        out = []
        for path, _ in _leaves(_schema_cached()):
            key = ".".join(path)
            if key.startswith(prefix):
                v = self.study.get(key)
                if isinstance(v, Uncertain) and not v.is_fixed:
                    out.append(key)
        return out

    def rng(self, purpose: str) -> np.random.Generator:
        """A generator for other random parts of a simulation (noise), reproducible by name."""
        return key_rng(self.seed, "rng:" + purpose)


def draws(study: Study, n: int | None = None, seed: int | None = None) -> Draws:
    """Draws for ``study`` with ``simulation.n_draws`` / ``simulation.seed`` unless given."""
    return Draws(study, int(n if n is not None else study["simulation.n_draws"]),
                 int(study["simulation.seed"] if seed is None else seed))


def quantiles(x, axis=0) -> tuple[float, float, float]:
    """(P10, median, P90) of ``x``."""
    q = np.nanquantile(np.asarray(x, float), [0.1, 0.5, 0.9], axis=axis)
    return tuple(q)


def summarize(x, name: str) -> dict:
    """``{name_p10, name_median, name_p90}`` for results.json."""
    p10, p50, p90 = quantiles(x)
    return {f"{name}_p10": p10, f"{name}_median": p50, f"{name}_p90": p90}
