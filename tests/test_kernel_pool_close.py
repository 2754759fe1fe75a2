"""Closing the kernel pool while its kernels are still warming up (a study refused, a run interrupted).

The pool starts kernels ahead and has them import the kit; ``close`` must shut them down without
waiting for that import to finish.  A warm-up that never ends stands in for a slow one: a close that
waited for the kernel's reply would hang for the warm-up's whole timeout (300 s) instead of returning.
"""

import threading
import time

from analysis.run import report


def test_close_does_not_wait_for_a_warm_up_in_progress(monkeypatch, tmp_path):
    started = tmp_path / "warming"
    monkeypatch.setattr(report, "WARM_UP", f"open({str(started)!r}, 'w').close()\nimport time\ntime.sleep(3600)")
    pool = report.KernelPool(warm=2)
    while not started.exists():  # a kernel is now inside its warm-up
        time.sleep(0.05)
    closer = threading.Thread(target=pool.close, daemon=True)
    closer.start()
    closer.join(timeout=120)  # a hang detector: the warm-up itself would take an hour
    assert not closer.is_alive(), "close() waited for the warm-up to finish"
    assert pool._warming == 0 and pool._all == []


def test_a_closed_pool_has_shut_every_kernel_down(monkeypatch, tmp_path):
    started = tmp_path / "warming"
    monkeypatch.setattr(report, "WARM_UP", f"open({str(started)!r}, 'w').close()")
    made = []
    new = report.KernelPool._new

    def recording_new(self):
        km = new(self)
        made.append(km)
        return km

    monkeypatch.setattr(report.KernelPool, "_new", recording_new)
    pool = report.KernelPool(warm=2)
    taken = pool.get()  # one kernel handed to a worker, the other still warming or ready
    closer = threading.Thread(target=pool.close, daemon=True)
    closer.start()
    closer.join(timeout=120)
    assert not closer.is_alive()
    assert taken in made and len(made) == 2
    assert all(not km.has_kernel for km in made)
