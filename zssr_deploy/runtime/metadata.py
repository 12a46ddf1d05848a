"""The metadata contract between the exporter and every runtime (Python, C++, Node...).

All values are strings in the ONNX ``metadata_props`` (ONNX Runtime: ``custom_metadata_map``); structured
values are JSON. Keys:

=========================  =====================================================================================
``zssr.format_version``    integer; a runtime refuses a model whose major version it does not know
``zssr.kind``              ``pipeline`` (LR -> final SR) or ``network`` (cubic-upscaled image -> corrected image)
``zssr.scale``             JSON ``[sy, sx]``: output size is ``ceil(H*sy) x ceil(W*sx)``
``zssr.kernel``            JSON: ``"cubic"`` or the (re-centred) numeric kernel as a list of rows
``zssr.bp_iters``          back-projection iterations (per ensemble output and on the median)
``zssr.ensemble``          JSON list of geometric transforms (0..7; 4..7 mirror)
``zssr.channels``          1 or 3
``zssr.halo``              LR pixels of context a tile needs so tiled output matches whole-image output (1e-6)
``zssr.align``             JSON ``[qy, qx]``: tile origins must be multiples of these (rational scales p/q)
``zssr.min_size``          smallest input side the graph accepts
``zssr.static_shape``      JSON ``[h, w]`` when the graph has a fixed input size, else ``null``
``zssr.training``          JSON summary: iterations, learning-rate drops, final learning rate, reconstruction error
``zssr.package_version``   version of zssr-deploy that wrote it
``zssr.tensor_elements``   optional: elements of the graph's largest tensor per output pixel (ensemble members
                           batched times the network's width); runtimes size tiles by it
=========================  =====================================================================================

Tensors: input ``lr`` float32 ``(1, C, H, W)`` in [0, 1]; output ``sr`` float32 ``(1, C, H', W')`` in [0, 1].
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ModelError
from ..imageops.scale import output_length

__all__ = ["FORMAT_VERSION", "ModelMetadata", "PREFIX"]

FORMAT_VERSION = 1
PREFIX = "zssr."


@dataclass(frozen=True)
class ModelMetadata:
    kind: str
    scale: tuple[float, float]
    kernel: Any
    bp_iters: int
    ensemble: tuple[int, ...]
    channels: int
    halo: int
    align: tuple[int, int]
    min_size: int
    static_shape: tuple[int, int] | None
    training: dict
    package_version: str
    format_version: int = FORMAT_VERSION
    tensor_elements: int | None = None
    """Elements of the largest tensor per output pixel (None in models of earlier versions: see
    :attr:`largest_tensor`)."""

    @property
    def largest_tensor(self) -> int:
        """:attr:`tensor_elements`, or for an older model the most it can be: every ensemble member in one batch
        at the default network width of 64."""
        return self.tensor_elements or len(self.ensemble) * 64

    def to_props(self) -> dict[str, str]:
        return {
            PREFIX + "format_version": str(self.format_version),
            PREFIX + "kind": self.kind,
            PREFIX + "scale": json.dumps(list(self.scale)),
            PREFIX + "kernel": json.dumps(self.kernel),
            PREFIX + "bp_iters": str(self.bp_iters),
            PREFIX + "ensemble": json.dumps(list(self.ensemble)),
            PREFIX + "channels": str(self.channels),
            PREFIX + "halo": str(self.halo),
            PREFIX + "align": json.dumps(list(self.align)),
            PREFIX + "min_size": str(self.min_size),
            PREFIX + "static_shape": json.dumps(list(self.static_shape) if self.static_shape else None),
            PREFIX + "training": json.dumps(self.training),
            PREFIX + "package_version": self.package_version,
            **({PREFIX + "tensor_elements": str(self.tensor_elements)} if self.tensor_elements else {}),
        }

    @classmethod
    def from_props(cls, props: Mapping[str, str], source: str = "model") -> ModelMetadata:
        if PREFIX + "format_version" not in props:
            raise ModelError(f"{source} is not a zssr-deploy model (no '{PREFIX}format_version' metadata); "
                             "export one with 'zssr-deploy fit'")
        try:
            version = int(props[PREFIX + "format_version"])
        except ValueError:
            raise ModelError(f"{source}: unreadable format version {props[PREFIX + 'format_version']!r}") from None
        if version != FORMAT_VERSION:
            raise ModelError(f"{source} has model format version {version}; this zssr-deploy reads version "
                             f"{FORMAT_VERSION}: re-export it with a matching zssr-deploy")
        try:
            g = lambda k: props[PREFIX + k]  # noqa: E731
            static = json.loads(g("static_shape"))
            meta = cls(
                kind=g("kind"),
                scale=tuple(float(v) for v in json.loads(g("scale"))),  # type: ignore[arg-type]
                kernel=json.loads(g("kernel")),
                bp_iters=int(g("bp_iters")),
                ensemble=tuple(int(v) for v in json.loads(g("ensemble"))),
                channels=int(g("channels")),
                halo=int(g("halo")),
                align=tuple(int(v) for v in json.loads(g("align"))),  # type: ignore[arg-type]
                min_size=int(g("min_size")),
                static_shape=tuple(static) if static else None,  # type: ignore[arg-type]
                training=json.loads(g("training")),
                package_version=g("package_version"),
                format_version=version,
                tensor_elements=int(props[PREFIX + "tensor_elements"]) if PREFIX + "tensor_elements" in props else None,
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise ModelError(f"{source}: zssr-deploy metadata is incomplete or malformed ({exc})") from None
        if meta.kind not in ("pipeline", "network") or len(meta.scale) != 2 or meta.channels not in (1, 3):
            raise ModelError(f"{source}: zssr-deploy metadata has invalid values")
        return meta

    def output_size(self, h: int, w: int) -> tuple[int, int]:
        if self.kind == "network":
            return h, w
        return output_length(h, self.scale[0]), output_length(w, self.scale[1])
