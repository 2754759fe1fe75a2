"""The notebook kernels run their numerical libraries on one thread (the runner keeps one kernel
per core busy), unless the user has set the thread count."""
import json
import os
import subprocess
import sys

from analysis.run import report


def test_kernelspec_asks_one_thread_per_library():
    report._kernel_env()
    spec = json.loads((report._KERNEL_HOME[0] / "kernels" / report.KERNEL_NAME / "kernel.json").read_text())
    for key in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if key in os.environ:      # the user's own setting is left to the kernel (inherited)
            assert key not in spec["env"]
        else:
            assert spec["env"][key] == "1"


def test_a_thread_count_the_user_set_is_kept():
    code = ("import os; os.environ['OPENBLAS_NUM_THREADS'] = '3'\n"
            "from analysis.run import report\n"
            "print(sorted(report._ONE_THREAD))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")})
    assert out.stdout.strip() == "['MKL_NUM_THREADS', 'OMP_NUM_THREADS']"
