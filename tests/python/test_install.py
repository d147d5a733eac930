"""`runbook install` writes a kernelspec that `jupyter kernelspec list` shows."""

import json
import os
import subprocess
import sys
from pathlib import Path

from support import runbook_bin

JUPYTER = str(Path(sys.executable).parent / "jupyter")


def kernelspecs(env):
    out = subprocess.run([JUPYTER, "kernelspec", "list", "--json"], env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)["kernelspecs"]


def test_prefix_install_is_listed_with_absolute_argv(tmp_path):
    subprocess.run([str(runbook_bin()), "install", "--prefix", str(tmp_path), "--name", "rb-prefix"], check=True)
    env = dict(os.environ, JUPYTER_PATH=str(tmp_path / "share" / "jupyter"))
    spec = kernelspecs(env)["rb-prefix"]["spec"]
    assert spec["display_name"] == "Runbook (Rhai)"
    assert spec["language"] == "rhai"
    assert spec["interrupt_mode"] == "message"
    assert Path(spec["argv"][0]).is_absolute() and Path(spec["argv"][0]).exists()
    files = sorted(p.name for p in (tmp_path / "share/jupyter/kernels/rb-prefix").iterdir())
    assert files == ["kernel.json", "logo-32x32.png", "logo-64x64.png", "logo-svg.svg"]


def test_user_install_honours_jupyter_data_dir(tmp_path):
    env = dict(os.environ, JUPYTER_DATA_DIR=str(tmp_path / "data"))
    subprocess.run([str(runbook_bin()), "install", "--user", "--name", "rb-user"], env=env, check=True)
    assert "rb-user" in kernelspecs(env)


def test_sys_prefix_install_uses_the_active_venv(tmp_path):
    env = dict(os.environ, VIRTUAL_ENV=str(tmp_path), JUPYTER_PATH=str(tmp_path / "share" / "jupyter"))
    subprocess.run([str(runbook_bin()), "install", "--sys-prefix", "--name", "rb-venv"], env=env, check=True)
    assert "rb-venv" in kernelspecs(env)
    env.pop("VIRTUAL_ENV")
    env.pop("CONDA_PREFIX", None)
    out = subprocess.run([str(runbook_bin()), "install", "--sys-prefix"], env=env, capture_output=True, text=True)
    assert out.returncode != 0
    assert "--sys-prefix needs an active Python environment" in out.stderr


def test_bad_kernel_name_is_refused(tmp_path):
    out = subprocess.run([str(runbook_bin()), "install", "--prefix", str(tmp_path), "--name", "Bad Name"],
                         capture_output=True, text=True)
    assert out.returncode != 0
    assert "kernel name `Bad Name` is not valid" in out.stderr
