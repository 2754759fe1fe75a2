"""The notebook kernels run their numerical libraries on one thread (the runner keeps one kernel
per core busy), unless the user has set the thread count."""
import json
import os
import subprocess
import sys

from analysis.run import report  # noqa: F401  (imported: the module under test)

_KEYS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def test_kernelspec_asks_one_thread_per_library():
    # in a fresh process whose environment sets none of them (this test process's may, by other tests)
    code = ("import json\n"
            "from analysis.run import report\n"
            "report._kernel_env()\n"
            "spec = report._KERNEL_HOME[0] / 'kernels' / report.KERNEL_NAME / 'kernel.json'\n"
            "print(json.dumps(json.loads(spec.read_text())['env']))")
    env = {k: v for k, v in os.environ.items() if k not in _KEYS}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    spec_env = json.loads(out.stdout.strip().splitlines()[-1])
    for key in _KEYS:
        assert spec_env[key] == "1"


def test_a_thread_count_the_user_set_is_kept():
    code = ("import os; os.environ['OPENBLAS_NUM_THREADS'] = '3'\n"
            "from analysis.run import report\n"
            "print(sorted(report._ONE_THREAD))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")})
    assert out.stdout.strip() == "['MKL_NUM_THREADS', 'OMP_NUM_THREADS']"
