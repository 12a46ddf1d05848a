"""Export the fitted ZSSR inference to ONNX: the whole pipeline as one graph, or the network alone.

The graph holds only Conv, Gather, Slice, Concat, Reshape, Transpose, Min/Max, Clip, Where, Range and
elementwise ops (the MATLAB resizes are polyphase convolutions over mirrored indices, the median is a sorting
network), so ONNX Runtime's CPU, CUDA and TensorRT providers, and any ONNX Runtime binding, run the complete
method with no pre- or post-processing. ``Resize`` is never used: it cannot express MATLAB's antialiased,
mirrored resize.
"""

from __future__ import annotations

import copy
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from torch import nn

from .._version import __version__
from ..errors import ConfigError
from ..files import check_model_path, write_bytes_atomic
from ..imageops.scale import check_dynamic_scale, rational_scale
from ..models.network import ZSSRNet, add_residual
from ..models.pipeline import ZSSRPipeline
from ..runtime.metadata import ModelMetadata

__all__ = ["export_network", "export_pipeline", "pipeline_metadata", "training_summary"]

log = logging.getLogger(__name__)

OPSET = 18


def _export(module: nn.Module, example: torch.Tensor, dynamic: bool, min_size: int) -> onnx.ModelProto:
    import onnx_ir as ir
    import onnxscript
    from onnx_ir.passes.common import CommonSubexpressionEliminationPass, RemoveUnusedNodesPass

    module = module.eval()
    dyn: Any = None
    if dynamic:
        dyn = {"lr": {2: torch.export.Dim("height", min=min_size, max=65536),
                      3: torch.export.Dim("width", min=min_size, max=65536)}}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        logging.getLogger("torch.onnx").setLevel(logging.ERROR)
        # The exporter's own optimizer spends most of its time in pattern rewrites this graph does not need;
        # constant folding, CSE and dead-node removal give the same graph size in a fraction of the time.
        program = torch.onnx.export(module, (example,), dynamo=True, dynamic_shapes=dyn, input_names=["lr"],
                                    output_names=["sr"], opset_version=OPSET, verbose=False, optimize=False)
    model = program.model
    onnxscript.optimizer.fold_constants(model)
    CommonSubexpressionEliminationPass()(model)
    RemoveUnusedNodesPass()(model)
    return ir.serde.serialize_model(model)


def _finish(model: onnx.ModelProto, meta: ModelMetadata, path: str | os.PathLike[str], overwrite: bool,
            check: bool = True) -> Path:
    del model.metadata_props[:]
    for key, value in meta.to_props().items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    model.producer_name = "zssr-deploy"
    model.producer_version = __version__
    if check:  # a cached graph was checked when it was first exported; only its weights and metadata change
        onnx.checker.check_model(model, full_check=True)
    check_model_path(path, overwrite)
    return write_bytes_atomic(path, model.SerializeToString(), overwrite)


def _kernel_json(pipeline: ZSSRPipeline) -> Any:
    if pipeline.down.numeric is None:
        return "cubic"
    return pipeline.down.numeric.kernel[0, 0].double().tolist()


def export_pipeline(pipeline: ZSSRPipeline, path: str | os.PathLike[str], training: dict | None = None,
                    static_shape: tuple[int, int] | None = None, overwrite: bool = False) -> Path:
    """Write the whole inference (upscale, network, ensemble, back-projection, median) as one ONNX graph.

    Dynamic height and width unless ``static_shape=(h, w)`` (fixed tiles for TensorRT / CUDA graphs). Scales
    whose fraction has a denominator above 16 can only be exported with a static shape.
    """
    if static_shape is None:
        check_dynamic_scale(pipeline.scale, "export with a static shape (--static-shape H,W) specialised to the "
                                            "image size")
    pipe = copy.deepcopy(pipeline).cpu().float().eval().to(memory_format=torch.contiguous_format)
    if pipeline.net_dtype is not None:  # .float() above made every weight float32 again
        pipe.net = pipe.net.to(pipeline.net_dtype)
    pipe.net_tile = None
    min_size = pipe.min_size
    shape = static_shape or (max(min_size, 24), max(min_size, 24) + 3)
    if min(shape) < min_size:
        raise ConfigError(f"--static-shape {shape[0]},{shape[1]} is below this graph's minimum side {min_size}: "
                          f"give at least {min_size},{min_size}")
    example = torch.rand(1, pipe.net.channels, *shape, generator=torch.Generator().manual_seed(0))
    model = _export(pipe, example, static_shape is None, min_size)
    return _finish(model, pipeline_metadata(pipe, training, static_shape), path, overwrite)


def pipeline_metadata(pipe: ZSSRPipeline, training: dict | None, static_shape: tuple[int, int] | None) -> ModelMetadata:
    """The ``zssr.*`` metadata of a pipeline export."""
    aligns = tuple(rational_scale(s)[1] for s in pipe.scale)
    return ModelMetadata(kind="pipeline", scale=pipe.scale, kernel=_kernel_json(pipe), bp_iters=pipe.bp_iters,
                         ensemble=tuple(pipe.transforms), channels=pipe.net.channels, halo=pipe.halo,
                         align=aligns, min_size=pipe.min_size, static_shape=tuple(static_shape) if static_shape else None,
                         training=training or {}, package_version=__version__,
                         tensor_elements=_largest_batch(pipe.transforms) * _width(pipe.net))


def _width(net: nn.Module) -> int:
    """The most channels a layer of the network outputs."""
    return max(m.out_channels for m in net.modules() if isinstance(m, nn.Conv2d))


def _largest_batch(transforms: list[int]) -> int:
    """Ensemble members of one parity run as one batch (:meth:`ZSSRPipeline.forward`)."""
    return max(sum(1 for k in transforms if k % 2 == parity) for parity in (0, 1))


class _ResidualNet(nn.Module):
    """Cubic-upscaled image -> ``clip(x + net(x), 0, 1)``: the network with its global residual."""

    def __init__(self, net: ZSSRNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        return add_residual(lr, self.net(lr))


def export_network(net: ZSSRNet, path: str | os.PathLike[str], scale: tuple[float, float],
                   training: dict | None = None, static_shape: tuple[int, int] | None = None,
                   overwrite: bool = False) -> Path:
    """Write the image-specific network alone (input: the MATLAB-cubic upscaled image, HR size)."""
    module = _ResidualNet(copy.deepcopy(net).cpu().float().eval().to(memory_format=torch.contiguous_format))
    shape = static_shape or (32, 35)
    example = torch.rand(1, net.channels, *shape, generator=torch.Generator().manual_seed(0))
    model = _export(module, example, static_shape is None, 8)
    meta = ModelMetadata(kind="network", scale=(float(scale[0]), float(scale[1])), kernel="cubic", bp_iters=0,
                         ensemble=(0,), channels=net.channels, halo=net.receptive_radius, align=(1, 1), min_size=8,
                         static_shape=tuple(static_shape) if static_shape else None, training=training or {},
                         package_version=__version__, tensor_elements=_width(net))
    return _finish(model, meta, path, overwrite)


def training_summary(steps: list[Any], seconds: float, precision: str, device: str) -> dict:
    """JSON-able summary of a fit for the ``zssr.training`` metadata."""
    return {
        "steps": [{"scale": list(s.scale), "iterations": s.iterations, "learning_rate_drops": s.learning_rate_drops,
                   "final_learning_rate": s.final_learning_rate, "reconstruction_error": s.reconstruction_error}
                  for s in steps],
        "iterations": int(np.sum([s.iterations for s in steps])),
        "seconds": round(seconds, 2), "precision": precision, "device": device,
    }
