"""Where a batch's images are fitted: in this process, in worker processes, or as Ray tasks.

Each executor takes an iterator of packs (lists of :class:`ImageTask`, fitted together by
:func:`~zssr_deploy.batch.worker.process_pack`; a pack of one is a lone fit) and yields :class:`ImageResult` as
images finish, keeping only a few packs in flight (a task holds its image's bytes).
"""

from __future__ import annotations

import importlib.util
import logging
import multiprocessing
import os
import queue
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any

from ..compute import Compute
from ..errors import BatchError, ConfigError
from .options import BatchOptions
from .worker import ImageResult, ImageTask, process_pack

if TYPE_CHECKING:
    from ..trainers.state import Progress

__all__ = ["make_executor"]

log = logging.getLogger(__name__)

OnProgress = Callable[[str, "Progress"], None] | None


class _InProcess:
    """One pack after another, in this process (``jobs=1``): progress goes straight to the caller, and each
    image's result as soon as its fit ends."""

    def __init__(self, on_progress: OnProgress) -> None:
        self.on_progress = on_progress

    def map(self, packs: Iterator[list[ImageTask]]) -> Iterator[ImageResult]:
        for pack in packs:
            yield from process_pack(pack, self.on_progress)

    def __enter__(self) -> _InProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


_progress_queue: Any = None


def _init_worker(progress_queue: Any, threads: int) -> None:
    """A worker process: its thread count pinned before torch starts, progress sent back through a queue, and
    a watch on its driver (:func:`_watch_driver`)."""
    global _progress_queue
    _progress_queue = progress_queue
    os.environ["OMP_NUM_THREADS"] = str(threads)
    signal.signal(signal.SIGTERM, _end_worker)  # the driver's terminate(): unwind, so temporary files go
    threading.Thread(target=_watch_driver, args=(os.getppid(),), daemon=True, name="driver-watch").start()


def _end_worker(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _watch_driver(driver: int, every: float = 0.5) -> None:
    """End this worker once its driver is gone. A driver killed by SIGKILL (or by SIGTERM before its handler
    ran) cleans nothing up, and its workers once trained on at 100 % CPU, then blocked for good: a worker whose
    parent changes (re-parented to init) ends itself as the driver's SIGTERM would have (the driver's manifest
    already says which images are unfinished)."""
    while True:
        time.sleep(every)
        if os.getppid() != driver:
            os.kill(os.getpid(), signal.SIGTERM)  # unwind the image in flight (its temporary files) ...
            time.sleep(5.0)
            os._exit(3)  # ... or, stuck in a long native call, end regardless


def _in_worker(pack: list[ImageTask]) -> list[ImageResult]:
    q = _progress_queue
    return list(process_pack(pack, None if q is None else (lambda name, p: q.put((name, p)))))


def _result(future: Future) -> list[ImageResult]:
    try:
        return future.result()
    except BrokenProcessPool:
        raise BatchError("a worker process died (out of memory, or killed); finished images are kept: run the "
                         "same command again to resume") from None


class _Processes:
    """``jobs`` worker processes (spawned: no forked torch state), each with its share of the threads."""

    def __init__(self, jobs: int, threads: int, on_progress: OnProgress) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.jobs, self.on_progress = jobs, on_progress
        # a plain queue handed to the workers when they start: no manager process to outlive a killed driver
        self.queue = ctx.Queue() if on_progress is not None else None
        self.pool = ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init_worker, initargs=(self.queue, threads))
        self.stop = threading.Event()
        self.relay = threading.Thread(target=self._relay, daemon=True)
        self.relay.start()

    def _relay(self) -> None:
        while self.queue is not None and not self.stop.is_set():
            try:
                name, p = self.queue.get(timeout=0.2)
            except (queue.Empty, EOFError, OSError):
                continue
            self.on_progress(name, p)  # type: ignore[misc]

    def map(self, packs: Iterator[list[ImageTask]]) -> Iterator[ImageResult]:
        pending: set[Future] = set()
        for pack in packs:
            pending.add(self.pool.submit(_in_worker, pack))
            while len(pending) >= self.jobs:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield from _result(future)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield from _result(future)

    def __enter__(self) -> _Processes:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.stop.set()
        procs = list((getattr(self.pool, "_processes", None) or {}).values())
        # interrupted: drop what has not started and do not wait for the images in flight
        self.pool.shutdown(wait=exc_type is None, cancel_futures=exc_type is not None)
        if exc_type is not None:
            for proc in procs:
                proc.terminate()


def _ray_task(pack: list[ImageTask]) -> list[ImageResult]:
    return list(process_pack(pack))


def ray_target(cluster: str) -> str:
    """The address ``--cluster`` means: its own, or for 'ray' the ``RAY_ADDRESS`` convention, else 'auto'."""
    return (None if cluster == "ray" else cluster) or os.environ.get("RAY_ADDRESS") or "auto"


def check_cluster(cluster: str) -> None:
    """Everything about ``--cluster`` that can fail before a batch is planned: Ray installed, the address
    answering (:func:`check_ray_address`)."""
    if importlib.util.find_spec("ray") is None:
        raise ConfigError("--cluster ray needs Ray: pip install 'zssr-deploy[cluster]'")
    check_ray_address(ray_target(cluster))


def check_ray_address(address: str, timeout: float = 5.0) -> None:
    """:class:`ConfigError` at once for a Ray address nothing answers at (Ray itself retries for minutes, with a
    warning every 5 s), or a ``ray://`` address without Ray's client installed. 'auto' and 'local' pass."""
    if address in ("auto", "local"):
        return
    if address.startswith("ray://") and importlib.util.find_spec("grpc") is None:
        raise ConfigError(f"{address} is a Ray client address, which needs Ray's client: pip install 'ray[client]' "
                          "(zssr-deploy[cluster] brings it)")
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"Ray address {address!r} is not HOST:PORT or ray://HOST:PORT")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ConfigError(f"cannot reach a Ray cluster at {address}: nothing answers on {host}:{port} within "
                          f"{timeout:g} s ({exc.strerror or exc}); start one with 'ray start --head', or check the "
                          "address and RAY_ADDRESS") from None


#: seconds between attempts when a Ray client server fails to start this client's session
RAY_CLIENT_RETRIES = (2.0, 5.0, 10.0, 20.0)


def _ray_reason(exc: BaseException) -> str:
    """One line of why Ray refused: the exception's first line, and for a server-side failure (its traceback
    comes back as the message) that traceback's last line."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    return lines[0] if len(lines) == 1 else f"{lines[0].rstrip(':')}: {lines[-1]}"


def _connect_ray(ray: Any, target: str) -> None:
    """``ray.init`` on ``target``. A Ray client server answers but sometimes fails to start the session it
    makes for each client (a process that must start within Ray's own timeouts: slow on a loaded head node), so
    "Initialization failure from server" is tried again, four times over 37 s (three tries over 7 s failed once
    on a 2-core machine running three other jobs, 2026-12-05); any other failure is a :class:`ConfigError`."""
    for pause in (*RAY_CLIENT_RETRIES, None):
        try:
            ray.init(address=target, log_to_driver=False, logging_level=logging.WARNING)
            return
        except (ConnectionError, RuntimeError) as exc:
            reason = _ray_reason(exc)
            if pause is None or "Initialization failure from server" not in str(exc):
                raise ConfigError(f"cannot reach a Ray cluster at {target}: {reason} (start one with 'ray start "
                                  "--head', or set RAY_ADDRESS)") from None
            log.warning("the Ray client server at %s could not start a session (%s); trying again in %g s", target,
                        reason, pause)
            ray.shutdown()  # whatever the failed attempt left connected
            time.sleep(pause)


class _Ray:
    """Each pack a Ray task (retried if its worker dies); inputs and outputs travel through this driver."""

    def __init__(self, address: str, cpus: float, gpus: float) -> None:
        try:
            import ray
        except ImportError:
            raise ConfigError("--cluster ray needs Ray: pip install 'zssr-deploy[cluster]'") from None
        self.ray, self.started = ray, not ray.is_initialized()
        if self.started:
            target = ray_target(address)
            check_ray_address(target)
            _connect_ray(ray, target)
        self.remote = ray.remote(_ray_task).options(num_cpus=cpus, num_gpus=gpus, max_retries=3)
        self.slots = max(1, int(ray.cluster_resources().get("CPU", 1) // cpus))

    def map(self, packs: Iterator[list[ImageTask]]) -> Iterator[ImageResult]:
        pending: list = []
        for pack in packs:
            pending.append(self.remote.remote(pack))
            while len(pending) >= self.slots:
                done, pending = self.ray.wait(pending, num_returns=1)
                for results in self.ray.get(done):
                    yield from results
        while pending:
            done, pending = self.ray.wait(pending, num_returns=1)
            for results in self.ray.get(done):
                yield from results

    def __enter__(self) -> _Ray:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.started:
            self.ray.shutdown()


def make_executor(options: BatchOptions, compute: Compute, on_progress: OnProgress):
    """The executor the options ask for (a context manager with ``map``); worker processes start with their share
    of ``compute``'s threads."""
    if options.cluster is not None:
        if not (options.cluster == "ray" or options.cluster.startswith("ray://") or ":" in options.cluster):
            raise ConfigError(f"--cluster must be 'ray', 'ray://HOST:PORT' or a Ray address HOST:PORT, got {options.cluster!r}")
        return _Ray(options.cluster, options.cpus_per_task, options.gpus_per_task)
    if options.jobs == 1:
        return _InProcess(on_progress)
    return _Processes(options.jobs, options.task_compute(compute).threads or 1, on_progress)
