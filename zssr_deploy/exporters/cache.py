"""Export once per graph shape: the pipeline's ONNX graph depends on its structure (scale, kernel taps,
back-projection iterations, ensemble, channels, layer shapes, opset, versions), not on the fitted weights. The
first export of a structure is kept in the user's cache folder; later fits load it and write their own weights
into a copy (the network's weights are graph initializers named ``net.<parameter>``), which takes a fraction of
a second instead of a fresh trace, fold and check of the whole graph.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import time
from pathlib import Path

import onnx
import torch
from onnx import helper, numpy_helper

from .._version import __version__
from ..files import write_bytes_atomic
from ..models.pipeline import ZSSRPipeline
from .onnx_export import OPSET, _finish, _kernel_json, export_pipeline, pipeline_metadata

__all__ = ["cache_dir", "export_pipeline_cached", "graph_key"]

log = logging.getLogger(__name__)

#: environment variable naming the cache folder ("off" turns the cache off)
CACHE_ENV = "ZSSR_DEPLOY_CACHE"


def cache_dir() -> Path | None:
    """Where exported graphs are kept: ``$ZSSR_DEPLOY_CACHE`` if set ("off": no cache), else the platform's
    user cache folder (as platformdirs: ``$XDG_CACHE_HOME`` or ``~/.cache`` on Linux, ``~/Library/Caches`` on
    macOS, ``%LOCALAPPDATA%`` on Windows), in ``zssr-deploy/graphs``."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return None if env.lower() == "off" else Path(env)
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / "zssr-deploy" / "Cache"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches" / "zssr-deploy"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "zssr-deploy"
    return base / "graphs"


def graph_key(pipeline: ZSSRPipeline, static_shape: tuple[int, int] | None = None) -> str:
    """A hash of everything the graph depends on except the network's weights."""
    import onnxscript

    structure = {
        "scale": list(pipeline.scale), "kernel": _kernel_json(pipeline), "bp_iters": pipeline.bp_iters,
        "transforms": [list(t) if isinstance(t, (list, tuple)) else t for t in pipeline.transforms],
        "params": [[n, list(p.shape)] for n, p in pipeline.net.named_parameters()],
        "channels": pipeline.net.channels, "static_shape": static_shape, "opset": OPSET, "package": __version__,
        "net_dtype": str(pipeline.net_dtype),  # a float16 network is another graph, cached beside the float32 one
        "torch": torch.__version__, "onnx": onnx.__version__, "onnxscript": onnxscript.__version__,
    }
    return hashlib.sha256(json.dumps(structure, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _with_weights(model: onnx.ModelProto, pipeline: ZSSRPipeline) -> bool:
    """Put the pipeline's network weights into the graph's ``net.*`` initializers; False if one is missing."""
    inits = {i.name: i for i in model.graph.initializer}
    for name, param in pipeline.net.named_parameters():
        init = inits.get(f"net.{name}")
        value = param.detach().cpu().float().numpy()
        if init is None or tuple(init.dims) != value.shape:
            return False
        value = value.astype(helper.tensor_dtype_to_np_dtype(init.data_type))  # float16 in a half graph
        init.CopyFrom(numpy_helper.from_array(value, init.name))
    return True


def _load(path: Path) -> onnx.ModelProto | None:
    try:
        return onnx.load(str(path))
    except Exception as exc:  # a damaged cache entry is rebuilt, never trusted
        log.warning("ignoring the damaged cached graph %s (%s)", path, str(exc).splitlines()[0] if str(exc) else exc)
        return None


def export_pipeline_cached(pipeline: ZSSRPipeline, path: str | os.PathLike[str], training: dict | None = None,
                           static_shape: tuple[int, int] | None = None, overwrite: bool = False) -> tuple[Path, bool]:
    """:func:`export_pipeline`, from the cache when this structure was exported before; returns the path and
    whether the cache served it. The result equals a fresh export's (tests compare their outputs)."""
    folder, t0 = cache_dir(), time.perf_counter()
    entry = None if folder is None else folder / f"pipeline-{graph_key(pipeline, static_shape)}.onnx"
    model = _load(entry) if entry is not None and entry.is_file() else None
    if model is not None and _with_weights(model, pipeline):
        out = _finish(model, pipeline_metadata(pipeline, training, static_shape), path, overwrite, check=False)
        log.info("export: cached graph %s, %.2f s", entry.name, time.perf_counter() - t0)  # type: ignore[union-attr]
        return out, True
    out = export_pipeline(pipeline, path, training, static_shape, overwrite)
    if entry is not None:
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(entry, Path(out).read_bytes(), overwrite=True)
        except OSError as exc:  # a read-only home must not fail the run
            log.warning("cannot keep the exported graph in %s: %s", entry.parent, exc)
    log.info("export: fresh graph, %.2f s", time.perf_counter() - t0)
    return out, False
