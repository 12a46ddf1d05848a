"""A torch-free install (``pip install 'zssr-deploy[cpu]'``, no ``[train]``) runs a saved model and says in one
line what a training command needs. Built for real: a fresh virtual environment, the package installed into it
from this checkout (pip's cache makes that quick after ``make install``)."""

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import numpy as np
import pytest

from zssr_deploy.api import fit_model
from zssr_deploy.io import read_image, write_image
from zssr_deploy.runtime.run import run_model
from zssr_deploy.trainers.config import build_config

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def torch_free_env(tmp_path_factory):
    """A virtual environment with zssr-deploy[cpu] and what it needs, and without torch or onnx."""
    folder = tmp_path_factory.mktemp("torch-free")
    source = folder / "source"  # a copy: building in the checkout would leave a build/ folder there
    shutil.copytree(ROOT / "zssr_deploy", source / "zssr_deploy", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    env = folder / "venv"
    venv.create(env, with_pip=True)
    py = env / "bin" / "python"
    pip = [str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-c", str(ROOT / "constraints.txt")]
    r = subprocess.run([*pip, f"{source}[cpu]"], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    return env


def _zssr(env: Path, *args: object) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([str(env / "bin" / "zssr-deploy"), *map(str, args)], capture_output=True, text=True,
                          timeout=300, env=clean, cwd=env.parent)


def test_a_torch_free_install_runs_a_saved_model(torch_free_env, photo, tmp_path):
    py = torch_free_env / "bin" / "python"
    probe = subprocess.run([str(py), "-c", "import importlib.util as u; print([m for m in ('torch', 'onnx', 'onnxscript') "
                            "if u.find_spec(m)])"], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert probe.stdout.strip() == "[]"  # really without them
    write_image(tmp_path / "lr.png", photo[:24, :28])
    cfg = build_config("ideal", 2, max_iters=4, crop_size=16, device="cpu")
    model, _, _ = fit_model(tmp_path / "lr.png", tmp_path / "m.onnx", cfg)
    run_model(model, tmp_path / "lr.png", tmp_path / "here.png")  # the same run in this (torch) environment
    r = _zssr(torch_free_env, "run", model, tmp_path / "lr.png", "-o", tmp_path / "there.png")
    assert r.returncode == 0, r.stderr
    np.testing.assert_array_equal(read_image(tmp_path / "there.png").pixels, read_image(tmp_path / "here.png").pixels)
    info = _zssr(torch_free_env, "info")
    assert info.returncode == 0 and "torch: not installed" in info.stdout and "onnxruntime providers" in info.stdout


def test_a_training_command_without_torch_says_what_to_install(torch_free_env, photo, tmp_path):
    write_image(tmp_path / "lr.png", photo[:24, :28])
    r = _zssr(torch_free_env, "fit-and-run", tmp_path / "lr.png", "-o", tmp_path / "sr.png")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines() == ["zssr-deploy: error: this command needs torch, which is not installed: "
                                             "pip install 'zssr-deploy[train]' (run and info work without it)"]
    assert not (tmp_path / "sr.png").exists()
    assert sys.executable != str(torch_free_env / "bin" / "python")
