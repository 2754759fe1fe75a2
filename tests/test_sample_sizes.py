"""`analysis sample` at the edges of its arguments: any positive size writes a study that `check`
accepts; a size below one is an input error (exit 2 naming the flag), never a traceback."""
import pytest


@pytest.mark.parametrize("args, flag", [(["--clients", "0"], "--clients"), (["--clients", "-5"], "--clients"),
                                        (["--months", "0"], "--months")])
def test_size_below_one_is_exit_2(run_cli, tmp_path, args, flag):
    r = run_cli("sample", tmp_path / "s", *args)
    assert r.returncode == 2, r.stderr
    assert flag in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("clients, months", [(1, 24), (12, 3)])
def test_tiny_salons_are_written_and_pass_check(run_cli, tmp_path, clients, months):
    out = tmp_path / "s"
    r = run_cli("sample", out, "--clients", clients, "--months", months)
    assert r.returncode == 0, r.stderr
    c = run_cli("check", out)
    assert c.returncode == 0, c.stdout + c.stderr
