"""The bootstrap by client (Efron & Tibshirani 1993, ch. 6), resampling within each group.

A resample draws, within the pilot group and within the control group, as many clients as the group
has, with replacement: a vector of counts ``w`` (multinomial).  Every statistic of the pilot page is a
function of sums over clients, ``sum_i w_i a_i``, so :func:`resampled_sums` returns those sums for
``n_boot`` resamples at once.  The counts are drawn chunk by chunk (the count of a chunk is binomial
given what is left, then multinomial inside it: exactly the multinomial of the whole group), so the
memory stays ``n_boot x chunk`` for a million clients.  The same ``seed`` gives the same resamples, so
statistics computed in separate calls stay paired.
"""
from __future__ import annotations

import numpy as np

__all__ = ["resampled_sums", "CHUNK"]

CHUNK = 20_000


def resampled_sums(groups: np.ndarray, A, n_boot: int, seed: int, chunk: int = CHUNK) -> np.ndarray:
    """``W @ A`` for ``n_boot`` resamples of the clients within each group.

    Parameters
    ----------
    groups : array (n,)
        Group label of each client (resampling keeps each group's size).
    A : array (n,) or (n, m)
        Per-client values.
    seed : int
        Seed of the resamples (the same seed gives the same resamples).

    Returns
    -------
    ndarray (n_boot,) or (n_boot, m)
    """
    A = np.asarray(A, float)
    vec = A.ndim == 1
    A2 = A[:, None] if vec else A
    rng = np.random.default_rng(seed)
    out = np.zeros((n_boot, A2.shape[1]))
    groups = np.asarray(groups)
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        left = np.full(n_boot, idx.size, dtype=np.int64)
        cells = idx.size
        for start in range(0, idx.size, chunk):
            sl = idx[start:start + chunk]
            k = sl.size
            tot = left if k == cells else rng.binomial(left, k / cells)
            # the t_b clients of resample b fall uniformly on the chunk's k clients: counts by bincount
            draws = rng.integers(0, k, size=int(tot.sum())) + np.repeat(np.arange(n_boot) * k, tot)
            W = np.bincount(draws, minlength=n_boot * k).reshape(n_boot, k).astype(float)
            out += W @ A2[sl]
            left = left - tot
            cells -= k
    return out[:, 0] if vec else out
