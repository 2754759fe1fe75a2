"""Waiting for an answer: the M/M/c queue (Erlang C), vectorised and stable for many servers.

Clients' inbound requests (a call, a message) arrive at random (Poisson, ``arrival_rate`` per
minute) and each takes an exponential time to answer (``service_rate`` = 1 / mean minutes).  With
``servers`` people answering, the offered load is ``a = arrival_rate / service_rate`` (erlangs) and

* Erlang B (all servers busy, no queue)::

      B(c, a) = (a^c / c!) / sum_{j=0..c} a^j / j!  =  Poisson pmf(c; a) / Poisson cdf(c; a)

* Erlang C (probability that a request has to wait)::

      C(c, a) = c B / (c - a (1 - B))          when a < c,   else 1

* mean wait ``Wq = C / (c mu - lambda)`` and the share answered within ``t``
  ``P(W <= t) = 1 - C exp(-(c mu - lambda) t)``.

B is computed in log-space from the Poisson pmf (``gammaln``) and cdf (``pdtr``), so thousands
of servers neither overflow nor lose precision; :func:`erlang_b_recursive` (the textbook
recursion ``B_j = a B_{j-1} / (j + a B_{j-1})``) is kept as an independent check.

When ``arrival_rate >= servers * service_rate`` the queue grows without bound: ``C = 1``, the mean
wait is infinite and the share answered within any target is 0.

References
----------
Kleinrock, L. (1975). *Queueing Systems, Vol. 1*, §3.5 (M/M/m).
Smith, D. R. & Whitt, W. (1981). Resource sharing for efficiency in traffic systems.
*Bell System Technical Journal* 60(1), 39–55 — pooling servers never lengthens the wait.
"""
from __future__ import annotations

import numpy as np
from scipy.special import gammaln, pdtr, xlogy

__all__ = ["erlang_b", "erlang_b_recursive", "erlang_c", "mean_wait", "share_within",
           "queue_summary"]


def _scalar_out(x, *inputs):
    """Return a Python float when every input was a scalar, else the array."""
    if all(np.ndim(i) == 0 for i in inputs):
        return float(np.asarray(x).reshape(-1)[0])
    return x


def _validate(arrival_rate, service_rate, servers):
    lam = np.asarray(arrival_rate, float)
    mu = np.asarray(service_rate, float)
    c = np.asarray(servers, float)
    if np.any(lam < 0) or np.any(~np.isfinite(lam)):
        raise ValueError(f"arrival_rate must be a finite number >= 0. Got {arrival_rate!r} instead.")
    if np.any(mu <= 0) or np.any(~np.isfinite(mu)):
        raise ValueError(f"service_rate must be a finite number > 0. Got {service_rate!r} instead.")
    if np.any(c < 0) or np.any(c != np.round(c)):
        raise ValueError(f"servers must be a whole number >= 0. Got {servers!r} instead.")
    return np.broadcast_arrays(lam, mu, c)


def erlang_b(load, servers):
    """Erlang B blocking probability for offered ``load`` (erlangs) on ``servers`` servers.

    ``B(c, a) = pmf(c; a) / cdf(c; a)`` of a Poisson(a) variable, in log-space.
    Scalars in, float out; arrays broadcast.
    """
    a = np.asarray(load, float)
    c = np.asarray(servers, float)
    a, c = np.broadcast_arrays(a, c)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        log_pmf = xlogy(c, a) - a - gammaln(c + 1.0)
        cdf = pdtr(c, a)
        b = np.exp(log_pmf - np.log(cdf))
    b = np.where(a == 0, np.where(c == 0, 1.0, 0.0), b)
    b = np.where(np.isfinite(b), np.clip(b, 0.0, 1.0), 1.0)  # cdf underflow only when a >> c
    return _scalar_out(b, load, servers)


def erlang_b_recursive(load: float, servers: int) -> float:
    """Erlang B by the recursion ``B_0 = 1, B_j = a B_{j-1} / (j + a B_{j-1})`` (scalar)."""
    b = 1.0
    for j in range(1, int(servers) + 1):
        b = load * b / (j + load * b)
    return b


def erlang_c(arrival_rate, service_rate, servers):
    """Probability that a request has to wait (Erlang C).

    Parameters
    ----------
    arrival_rate : float or array
        Requests per unit of time (per minute in this kit), >= 0.
    service_rate : float or array
        Requests one server answers per unit of time (1 / mean answer time), > 0.
    servers : int or array of int
        People answering (>= 0).

    Returns
    -------
    float or ndarray
        ``C = c B / (c - a (1 - B))`` with ``a = arrival_rate / service_rate`` and ``B`` Erlang B;
        1.0 when ``arrival_rate >= servers * service_rate`` (the queue grows without bound);
        0.0 when there are no arrivals and at least one server.

    Examples
    --------
    >>> round(erlang_c(2.0, 1.0, 3), 4)   # 4/9 by hand
    0.4444
    >>> erlang_c(0.5, 1.0, 1)             # one server: C equals the utilisation
    0.5
    >>> erlang_c(3.0, 1.0, 3)             # unstable
    1.0
    """
    lam, mu, c = _validate(arrival_rate, service_rate, servers)
    a = lam / mu
    stable = a < c
    b = np.asarray(erlang_b(a, c), float)
    with np.errstate(divide="ignore", invalid="ignore"):
        cc = c * b / (c - a * (1.0 - b))
    cc = np.where(stable, np.clip(cc, 0.0, 1.0), 1.0)
    cc = np.where((lam == 0) & (c > 0), 0.0, cc)
    return _scalar_out(cc, arrival_rate, service_rate, servers)


def mean_wait(arrival_rate, service_rate, servers):
    """Mean time a request waits before someone starts answering it, ``Wq = C / (c mu - lambda)``.

    In the time unit of the rates (minutes here); ``inf`` when the queue is unstable.
    """
    lam, mu, c = _validate(arrival_rate, service_rate, servers)
    cc = np.asarray(erlang_c(lam, mu, c), float)
    slack = c * mu - lam
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(slack > 0, cc / np.where(slack > 0, slack, 1.0), np.inf)
    w = np.where((lam == 0) & (c > 0), 0.0, w)
    return _scalar_out(w, arrival_rate, service_rate, servers)


def share_within(arrival_rate, service_rate, servers, target):
    """Share of requests whose wait is at most ``target``: ``1 - C exp(-(c mu - lambda) t)``.

    0 when the queue is unstable.
    """
    lam, mu, c = _validate(arrival_rate, service_rate, servers)
    t = np.asarray(target, float)
    cc = np.asarray(erlang_c(lam, mu, c), float)
    slack = c * mu - lam
    s = np.where(slack > 0, 1.0 - cc * np.exp(-np.where(slack > 0, slack, 0.0) * t), 0.0)
    return _scalar_out(s, arrival_rate, service_rate, servers, target)


def queue_summary(arrival_rates, service_rate, servers, target):
    """Wait figures for several queues side by side, weighted by their arrivals.

    Parameters
    ----------
    arrival_rates, servers : array, last axis = the queues
        One entry per queue (e.g. one per specialist manager's block); leading axes broadcast
        (Monte Carlo draws).
    service_rate : float or array broadcastable to ``arrival_rates``
    target : float
        Target answer time, same unit as the rates.

    Returns
    -------
    dict of arrays (leading axes)
        ``wait_prob`` (share of requests that wait), ``wait`` (mean wait of a request, arrivals
        weighted), ``within_target`` (share answered within ``target``), ``utilisation``
        (load / servers over all queues).  A queue with no arrivals does not count.
    """
    lam = np.asarray(arrival_rates, float)
    mu = np.broadcast_to(np.asarray(service_rate, float), lam.shape)
    c = np.broadcast_to(np.asarray(servers, float), lam.shape)
    total = lam.sum(axis=-1)
    cc = np.asarray(erlang_c(lam, mu, c), float)
    w = np.asarray(mean_wait(lam, mu, c), float)
    s = np.asarray(share_within(lam, mu, c, target), float)
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = np.where(total[..., None] > 0, lam / np.where(total > 0, total, 1.0)[..., None], 0.0)
        wait = np.where(weight > 0, w * weight, 0.0).sum(axis=-1)
        util = (lam / mu).sum(axis=-1) / c.sum(axis=-1)
    return {
        "wait_prob": (cc * weight).sum(axis=-1),
        "wait": wait,
        "within_target": np.where(total > 0, (s * weight).sum(axis=-1), 1.0),
        "utilisation": util,
    }
