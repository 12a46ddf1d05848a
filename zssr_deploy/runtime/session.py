"""Run an exported zssr-deploy model with ONNX Runtime (numpy in, numpy out; no torch).

Array contract: images are float32 ``HxWxC`` in [0, 1] (C as in the model's metadata); outputs are float32
``ceil(H*sy) x ceil(W*sx) x C`` in [0, 1].
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError, ProviderError
from ..gpus import check_gpu_index, free_gpu_memory
from ..imageops.guard import check_image
from .metadata import ModelMetadata
from .tiling import MAX_TENSOR_ELEMENTS, plan_tiles, tile_side

__all__ = ["PROVIDER_CHOICES", "ZSSRModel", "available_providers", "check_provider"]

log = logging.getLogger(__name__)

_NAMES = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider", "tensorrt": "TensorrtExecutionProvider"}
PROVIDER_CHOICES = ("auto", "cpu", "cuda", "tensorrt")
#: more tiles than this: a warning that the run takes long
MANY_TILES = 100


def _ort():
    try:
        import onnxruntime as ort
    except ImportError:
        raise ProviderError("onnxruntime is not installed: pip install 'zssr-deploy[cpu]' (or '[gpu]')") from None
    # ONNX Runtime's own warnings and banners (a provider's fallback, "No registered plugin EP device") reach
    # stderr from its default logger; errors only, unless -v asks for the details
    ort.set_default_logger_severity(3 if not log.isEnabledFor(logging.INFO) else 2)
    return ort


def available_providers() -> list[str]:
    return list(_ort().get_available_providers())


def runs_on_gpu(provider: str) -> bool:
    """Whether ``provider`` (a ``--provider`` choice) runs the graph on a GPU here: cuda or tensorrt, or auto
    where onnxruntime-gpu sees one."""
    if provider in ("cuda", "tensorrt"):
        return True
    return provider == "auto" and bool({_NAMES["cuda"], _NAMES["tensorrt"]} & set(available_providers()))


def check_provider(provider: str) -> None:
    """Raise :class:`ProviderError` now if ``provider`` is unknown or not available here (before any work)."""
    _provider_list(provider, False, None)


#: how the CUDA provider picks each convolution's cuDNN algorithm (``ZSSRModel(conv_search=...)``)
CONV_SEARCHES = ("EXHAUSTIVE", "HEURISTIC", "DEFAULT")


def _provider_list(provider: str, fp16: bool, trt_cache_dir: str | None, device_id: int = 0,
                   conv_search: str = "EXHAUSTIVE") -> list:
    avail = available_providers()
    if provider not in PROVIDER_CHOICES:
        raise ProviderError(f"unknown provider {provider!r}; choose one of {PROVIDER_CHOICES}")
    wanted = ["tensorrt", "cuda", "cpu"] if provider == "auto" else [provider]
    if provider != "auto" and _NAMES[provider] not in avail:
        raise ProviderError(f"provider {provider!r} ({_NAMES[provider]}) is not available here; available: "
                            f"{', '.join(avail)}. Install onnxruntime-gpu for cuda/tensorrt, or use --provider cpu")
    out: list = []
    for p in wanted:
        name = _NAMES[p]
        if name not in avail:
            continue
        if p == "tensorrt":
            opts = {"trt_fp16_enable": fp16, "device_id": device_id}
            if trt_cache_dir:
                os.makedirs(trt_cache_dir, exist_ok=True)
                opts.update(trt_engine_cache_enable=True, trt_engine_cache_path=str(trt_cache_dir))
            out.append((name, opts))
        elif p == "cuda":
            out.append((name, {"cudnn_conv_algo_search": conv_search, "cudnn_conv_use_max_workspace": "1",
                               "device_id": device_id}))
        else:
            out.append(name)
    if "CPUExecutionProvider" not in [o if isinstance(o, str) else o[0] for o in out]:
        out.append("CPUExecutionProvider")  # for nodes a GPU provider does not take
    return out


@dataclass(frozen=True)
class _Bound:
    """One input shape's IO binding and the two buffers it binds (:meth:`ZSSRModel._bound_for`)."""

    shape: tuple[int, ...]
    binding: Any
    input: Any
    output: Any


class ZSSRModel:
    """A loaded zssr-deploy ONNX model.

    Args:
        path: the ``.onnx`` file.
        provider: ``auto`` (TensorRT, then CUDA, then CPU), ``cpu``, ``cuda`` or ``tensorrt``. A provider
            asked for by name must really run the session: ONNX Runtime falls back to CPU silently, so the
            session's providers are checked and :class:`ProviderError` is raised otherwise.
        fp16: let TensorRT build fp16 engines (GPU only).
        trt_cache_dir: TensorRT engine-cache directory (engines are reused across runs).
        threads: intra-op threads on CPU (default: ONNX Runtime's choice).
        device_id: the GPU the CUDA and TensorRT providers use.
        conv_search: the CUDA provider's cuDNN algorithm search (:data:`CONV_SEARCHES`): EXHAUSTIVE times every
            algorithm once per input shape (the best for one large image; tiles of several shapes pay it per
            shape: ``benchmarks/gpu/gpu_check.py`` compares the three).
    """

    def __init__(self, path: str | os.PathLike[str], provider: str = "auto", fp16: bool = False,
                 trt_cache_dir: str | None = None, threads: int | None = None, device_id: int = 0,
                 conv_search: str = "EXHAUSTIVE") -> None:
        ort = _ort()
        if conv_search not in CONV_SEARCHES:
            raise ProviderError(f"conv_search must be one of {', '.join(CONV_SEARCHES)}, got {conv_search!r}")
        p = Path(path)
        if not p.is_file():
            raise ModelError(f"model file {str(p)!r} does not exist")
        if p.stat().st_size == 0:
            raise ModelError(f"model file {str(p)!r} is empty")
        providers = _provider_list(provider, fp16, trt_cache_dir, device_id, conv_search)
        if device_id != 0 or provider in ("cuda", "tensorrt"):
            check_gpu_index(device_id)  # IO binding and the providers would fail late, or fall back silently
        self.device_id = device_id
        self.max_elements = MAX_TENSOR_ELEMENTS
        """The largest tensor a pass may make (:func:`~zssr_deploy.runtime.tiling.tile_side`)."""
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        if threads:
            opts.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(p), sess_options=opts, providers=providers)
        except Exception as exc:  # ONNX Runtime raises its own exception types (InvalidProtobuf, Fail...)
            raise ModelError(f"{str(p)!r} is not a loadable ONNX model (truncated or corrupt?): "
                             f"{str(exc).splitlines()[0][:200]}") from None
        self.metadata = ModelMetadata.from_props(self.session.get_modelmeta().custom_metadata_map, str(p))
        self.providers = list(self.session.get_providers())
        if provider != "auto" and _NAMES[provider] not in self.providers:
            raise ProviderError(f"ONNX Runtime could not start {_NAMES[provider]} for this model (it fell back to "
                                f"{', '.join(self.providers)}); check the CUDA/cuDNN/TensorRT installation")
        self.on_gpu = self.providers[0] in (_NAMES["cuda"], _NAMES["tensorrt"])
        #: tiles of one shape (:func:`plan_tiles`' ``uniform``): on a GPU, where each new shape costs a cuDNN
        #: algorithm search (on the CPU the edge tiles would only grow)
        self.uniform_tiles = self.on_gpu
        self.input_name = self.session.get_inputs()[0].name
        self.output_name = self.session.get_outputs()[0].name
        self._bound: _Bound | None = None
        self._lock = threading.Lock()
        log.info("loaded %s on %s", p, self.providers)

    # -- one forward pass ---------------------------------------------------------------------------------------
    def _check(self, img: np.ndarray) -> np.ndarray:
        m = self.metadata
        a = check_image(img, channels=(m.channels,), min_side=m.min_size, unit=True, needs="this model")
        return np.asarray(a, dtype=np.float32)

    def _forward(self, chw: np.ndarray) -> np.ndarray:
        """One pass of a ``CxHxW`` float32 region through the graph (``Cx(H*sy)x(W*sx)`` back)."""
        x = np.ascontiguousarray(chw[None])
        with self._lock:  # the buffers are the model's: one pass at a time (ONNX Runtime's run alone is thread-safe)
            bound = self._bound_for(x.shape)
            bound.input.update_inplace(x)  # one copy into the buffer the graph reads (on a GPU: host to device)
            self.session.run_with_iobinding(bound.binding)
            return bound.binding.copy_outputs_to_cpu()[0][0]

    def _bound_for(self, shape: tuple[int, ...]) -> _Bound:
        """The input and output buffers for one input shape, made and bound once and kept while tiles of that shape
        come (on a GPU a plan's tiles are all of one shape): on the provider's device (the session's
        ``device_id``), so a tile costs a copy in and a copy out, not two device allocations and a binding."""
        if self._bound is not None and self._bound.shape == shape:
            return self._bound
        self._bound = None  # the previous shape's buffers go before the new ones are made (GPU memory)
        ort = _ort()
        where = ("cuda", self.device_id) if self.on_gpu else ("cpu", 0)
        oh, ow = self.metadata.output_size(shape[2], shape[3])
        src = ort.OrtValue.ortvalue_from_shape_and_type(list(shape), np.float32, *where)
        dst = ort.OrtValue.ortvalue_from_shape_and_type([shape[0], shape[1], oh, ow], np.float32, *where)
        binding = self.session.io_binding()
        binding.bind_ortvalue_input(self.input_name, src)
        binding.bind_ortvalue_output(self.output_name, dst)
        self._bound = _Bound(shape, binding, src, dst)
        return self._bound

    def auto_tile(self, hw: Sequence[int]) -> int | None:
        """The tile side for an ``h x w`` image on this session's provider, or None for one pass: the graph's
        largest tensor under :attr:`max_elements` (cuDNN's limit) and within half the GPU's free memory (a
        quarter of the available RAM on the CPU)."""
        m = self.metadata
        free = free_gpu_memory(self.device_id) if self.on_gpu else _available_ram()
        budget = None if free is None else free // (2 if self.on_gpu else 4)
        side = tile_side(hw, m.largest_tensor, m.scale, m.halo, max_elements=self.max_elements, memory_bytes=budget)
        if side is not None:
            log.info("%dx%d image: tiles of %d LR pixels (largest tensor %d elements a pixel, %s bytes free)", hw[0],
                     hw[1], side, m.largest_tensor, free)
        return side

    def run(self, img: np.ndarray, progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """The whole image, in one pass where it fits (:meth:`auto_tile`), else tiled (the same pixels);
        ``progress(done, total)`` after each tile (one pass: ``(1, 1)``)."""
        a = self._check(img)
        if self.metadata.static_shape and tuple(a.shape[:2]) != tuple(self.metadata.static_shape):
            return self.run_tiled(a, min(self.metadata.static_shape) - 2 * self.metadata.halo, progress)
        tile = None if self.metadata.static_shape else self.auto_tile(a.shape[:2])
        if tile is not None:
            return self.run_tiled(a, tile, progress)
        out = self._forward(a.transpose(2, 0, 1)).transpose(1, 2, 0)
        if progress is not None:
            progress(1, 1)  # the whole image is one tile: a display shows the inference phase all the same
        return out

    def run_tiled(self, img: np.ndarray, tile: int, progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """Tiles of ``tile`` LR pixels with the metadata's halo of context; equals :meth:`run` within 1e-6.

        ``progress(done, total)`` is called after each tile.
        """
        a = self._check(img)
        m = self.metadata
        h, w = a.shape[:2]
        plan = plan_tiles((h, w), tile, m.halo, m.scale, m.align, m.min_size, m.static_shape, uniform=self.uniform_tiles)
        if len(plan) > MANY_TILES:  # a gigapixel scan is accepted, but the user should know what it costs
            log.warning("a %dx%d image: %d tiles of %d LR pixels on %s; this takes long (minutes to hours on a CPU)",
                        h, w, len(plan), tile, self.providers[0])
        oh, ow = m.output_size(h, w)
        out = np.empty((oh, ow, m.channels), np.float32)
        chw = a.transpose(2, 0, 1)
        for i, t in enumerate(plan):
            region = chw[:, t.src[0] : t.src[1], t.src[2] : t.src[3]]
            if m.static_shape:
                region = _pad_to(region, m.static_shape)
            sr = self._forward(region)
            out[t.dst[0] : t.dst[1], t.dst[2] : t.dst[3]] = sr[:, t.crop[0] : t.crop[1], t.crop[2] : t.crop[3]].transpose(1, 2, 0)
            if progress:
                progress(i + 1, len(plan))
        return out


def _available_ram() -> int | None:
    """MemAvailable of /proc/meminfo in bytes (None elsewhere)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _pad_to(region: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Symmetric padding at the bottom/right up to a static graph's input shape."""
    c, h, w = region.shape
    if (h, w) == tuple(shape):
        return region
    return np.pad(region, ((0, 0), (0, shape[0] - h), (0, shape[1] - w)), mode="symmetric")
