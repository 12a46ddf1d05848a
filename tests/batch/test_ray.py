"""Batches on a live local Ray cluster that the test starts (2 CPUs, loopback only, stopped afterwards)."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from zssr_deploy.cli import main

from .conftest import FAST, outputs

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'zssr-deploy[cluster]' (make test has it)")
RAY = str(Path(sys.executable).with_name("ray"))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: the live cluster's Ray client address (ray://...), set by the fixture
CLIENT: dict[str, str] = {}


@pytest.fixture(scope="module")
def ray_address():
    port, client = _free_port(), _free_port()
    start = [RAY, "start", "--head", "--num-cpus", "2", "--node-ip-address", "127.0.0.1", "--port", str(port),
             "--ray-client-server-port", str(client), "--include-dashboard", "false", "--disable-usage-stats"]
    subprocess.run(start, check=True, capture_output=True, timeout=120)
    CLIENT["address"] = f"ray://127.0.0.1:{client}"
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([RAY, "stop", "--force"], capture_output=True, timeout=120)


def _cli(address, *args):
    env = {**os.environ, "RAY_ADDRESS": address}
    return subprocess.Popen([sys.executable, "-c", "from zssr_deploy.cli import main; main()", *map(str, args)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_a_ray_batch_writes_what_the_sequential_run_writes(ray_address, photo_folder, tmp_path):
    # FAST has --threads 1: one thread, as each Ray task (--cpus-per-task 1)
    assert CliRunner().invoke(main, ["fit-and-run", str(photo_folder), "-o", str(tmp_path / "seq"), "-r",
                                     *FAST]).exit_code == 0
    proc = _cli(ray_address, "fit-and-run", photo_folder, "-o", tmp_path / "ray", "-r", *FAST, "--cluster", "ray")
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out
    assert "3 done" in out
    assert outputs(tmp_path / "ray") == outputs(tmp_path / "seq")


def _task_pids():
    ps = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout
    return [int(line.split()[0]) for line in ps.splitlines() if "ray::_ray_task" in line]


def test_a_killed_ray_worker_re_runs_its_image(ray_address, photo_folder, tmp_path):
    slow = [*FAST, "--max-iters", "400"]
    shutil.rmtree(photo_folder / "sub")
    assert CliRunner().invoke(main, ["fit-and-run", str(photo_folder), "-o", str(tmp_path / "seq"), *slow]).exit_code == 0
    proc = _cli(ray_address, "fit-and-run", photo_folder, "-o", tmp_path / "ray", *slow, "--cluster", "ray")
    t0 = time.monotonic()
    while not _task_pids():
        assert proc.poll() is None and time.monotonic() - t0 < 300, proc.stdout.read() if proc.poll() is not None else ""
        time.sleep(0.05)
    time.sleep(0.5)  # in the middle of the fit
    victim = _task_pids()[0]
    os.kill(victim, signal.SIGKILL)
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out
    assert outputs(tmp_path / "ray") == outputs(tmp_path / "seq")
    recs = [json.loads(x) for x in (tmp_path / "ray" / "zssr-manifest.jsonl").read_text().splitlines()]
    assert sorted(r["image"] for r in recs if r["status"] == "done") == ["a.png", "b.png"]


def test_a_ray_client_address_works_as_the_readme_says(ray_address, photo_folder, tmp_path):
    """``--cluster ray://HOST:PORT`` (the README's form) through Ray's client, which the [cluster] extra installs."""
    proc = _cli("", "fit-and-run", photo_folder, "-o", tmp_path / "out", *FAST, "--cluster", CLIENT["address"])
    text = proc.communicate(timeout=300)[0]
    assert proc.returncode == 0, text[-3000:]
    assert sorted(outputs(tmp_path / "out")) == ["a.png", "b.png"]


@pytest.mark.parametrize("how", ["option", "client option", "RAY_ADDRESS"])
def test_an_unreachable_cluster_is_refused_at_once(photo_folder, tmp_path, how):
    """Nothing listens on the port: one line, exit 2, within 30 s (Ray alone retried for minutes, warning every
    5 s), nothing written."""
    port = _free_port()
    args = ["fit-and-run", str(photo_folder), "-o", str(tmp_path / "out"), *FAST, "--cluster"]
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    if how == "RAY_ADDRESS":
        env["RAY_ADDRESS"] = f"127.0.0.1:{port}"
        args.append("ray")
    else:
        args.append(("ray://" if how == "client option" else "") + f"127.0.0.1:{port}")
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-c", "from zssr_deploy.cli import main; main()", *args], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and time.monotonic() - t0 < 30, (r.returncode, r.stderr[-2000:])
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and f"nothing answers on 127.0.0.1:{port}" in lines[0], r.stderr[-2000:]
    assert not (tmp_path / "out").exists()  # refused before the batch made its folder


class _FlakyRay:
    """Ray's client as it fails on a loaded head node: the session's server does not start, ``fails`` times."""

    def __init__(self, fails: int) -> None:
        self.fails, self.inits, self.shutdowns = fails, 0, 0

    def init(self, **kwargs) -> None:
        self.inits += 1
        if self.inits <= self.fails:
            raise ConnectionAbortedError("Initialization failure from server:\nTraceback (most recent call last):\n"
                                         "  File ...\nRuntimeError: Proxy failed to Connect to backend!")

    def shutdown(self) -> None:
        self.shutdowns += 1


def test_a_client_session_that_fails_to_start_is_tried_again(monkeypatch):
    """Ray's "Initialization failure from server" (its per-client server did not start in time) is tried again
    twice; a third failure is one line that carries the server's reason. (Ray's own failure, imitated: the live
    client test above cannot make a head node slow on purpose.)"""
    from zssr_deploy.batch import executors
    from zssr_deploy.errors import ConfigError

    monkeypatch.setattr(executors, "RAY_CLIENT_RETRIES", (0.0, 0.0))
    ray2 = _FlakyRay(2)
    executors._connect_ray(ray2, "ray://127.0.0.1:1")
    assert ray2.inits == 3 and ray2.shutdowns == 2
    with pytest.raises(ConfigError, match="Initialization failure from server: RuntimeError: Proxy failed"):
        executors._connect_ray(_FlakyRay(3), "ray://127.0.0.1:1")
