"""A batch's HTML report: one self-contained file (images embedded as data URIs, plots as inline SVG) that
people open in a browser: a summary table, and per image the LR, bicubic and ZSSR crops side by side at the
same zoom, the training curves, and the kernel when one was given or estimated. numpy/OpenCV only.
"""

from __future__ import annotations

import base64
import html
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage

from ..files import write_bytes_atomic
from ..imageops.kernels import kernel_picture
from ..imageops.resize import imresize
from ..io import encode_png, read_image
from .manifest import BatchRecord

if TYPE_CHECKING:
    from .runner import BatchPlan

__all__ = ["CROP", "write_report"]

#: side of the LR crop shown (LR pixels); the SR crops cover the same region
CROP = 48
#: displayed width of every crop (CSS pixels): the same zoom for the three
SHOWN = 288

_STYLE = """body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#eee}td:first-child{text-align:left}
.crops{display:flex;gap:12px}.crops figure{margin:0}.crops img{width:SHOWNpx;image-rendering:pixelated}
figcaption{text-align:center}section{margin:2em 0;border-top:1px solid #ccc}.failed{color:#b00}
svg{background:#fafafa;border:1px solid #ddd}.kernel img{width:96px;image-rendering:pixelated}""".replace("SHOWN", str(SHOWN))

# The page checks itself: every <img> decoded (tests read this attribute back from a real browser).
_SELF_CHECK = """<script>window.addEventListener('load',()=>{const i=[...document.images];
document.body.dataset.images=i.length;document.body.dataset.broken=i.filter(x=>!(x.complete&&x.naturalWidth>0)).length;});
</script>"""


def _img(pixels: np.ndarray, alt: str, css: str = "") -> str:
    data = base64.b64encode(encode_png(pixels)).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"{css}>'


def _busiest(lr: np.ndarray, side: int) -> tuple[int, int]:
    """Top-left of the ``side``-square crop with the most gradient energy (where SR differences show)."""
    gray = lr.mean(2)
    energy = ndimage.uniform_filter(np.hypot(*np.gradient(gray)), side, mode="constant")
    h, w = gray.shape
    r = side // 2
    cy, cx = np.unravel_index(np.argmax(energy[r : h - side + r + 1, r : w - side + r + 1]), (h - side + 1, w - side + 1))
    return int(cy), int(cx)


def _crops(source: Path, output: Path) -> str:
    lr, sr = read_image(source).pixels, read_image(output).pixels
    sy, sx = sr.shape[0] / lr.shape[0], sr.shape[1] / lr.shape[1]
    side = min(CROP, *lr.shape[:2])
    y, x = _busiest(lr, side)
    bicubic = np.clip(imresize(lr, (sy, sx), output_shape=sr.shape[:2]), 0.0, 1.0)
    region = (slice(round(y * sy), round((y + side) * sy)), slice(round(x * sx), round((x + side) * sx)))
    parts = [("LR input", lr[y : y + side, x : x + side]), ("bicubic", bicubic[region]), ("ZSSR", sr[region])]
    figs = "".join(f"<figure>{_img(p, name)}<figcaption>{name}</figcaption></figure>" for name, p in parts)
    return f'<div class="crops">{figs}</div><p>crop at LR ({y}, {x}), {side}x{side} LR pixels</p>'


def _x(x: float, x0: float, x1: float) -> float:
    return 40 + 440 * (x - x0) / max(x1 - x0, 1e-12)


def _polyline(xs: list[float], ys: list[float], box: tuple[float, float, float, float], color: str) -> str:
    x0, x1, y0, y1 = box
    pts = " ".join(f"{_x(x, x0, x1):.1f},{200 - 140 * (y - y0) / max(y1 - y0, 1e-12):.1f}" for x, y in zip(xs, ys))
    return f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{pts}"/>'


def _curves(points: list[list[float]]) -> str:
    """Loss, reconstruction error and learning rate (each on its own log scale) against the iteration over all
    steps; dashed lines mark the learning-rate drops."""
    if not points:
        return "<p>no training curves recorded</p>"
    offset, last, xs = 0, {}, []
    for step, it, *_ in points:  # iterations continue across scale steps
        if step not in last:
            offset += max(last.values(), default=0)
        last[step] = it
        xs.append(offset + it)
    series = [("loss", 2, "#1f77b4"), ("reconstruction error", 3, "#d62728"), ("learning rate", 4, "#2ca02c")]
    lines, legend = [], []
    for n, (name, col, color) in enumerate(series):
        ys = [math.log10(max(p[col], 1e-12)) for p in points]
        lo, hi = min(ys), max(ys)
        lines.append(_polyline(xs, ys, (xs[0], xs[-1], lo - 0.05, hi + 0.05), color))
        legend.append(f'<text x="40" y="{14 + 14 * n}" fill="{color}" font-size="11">{name}: log scale, '
                      f"1e{lo:.1f} to 1e{hi:.1f}</text>")
    drops = [f'<line x1="{_x(x, xs[0], xs[-1]):.1f}" x2="{_x(x, xs[0], xs[-1]):.1f}" y1="56" y2="204" stroke="#2ca02c" '
             f'stroke-dasharray="3,3"/>' for x, a, b in zip(xs[1:], points, points[1:]) if b[4] < a[4] and b[0] == a[0]]
    axis = (f'<text x="40" y="222" font-size="11">iteration 0</text>'
            f'<text x="430" y="222" font-size="11">{xs[-1]:.0f}</text>')
    return (f'<svg width="500" height="230" role="img" aria-label="training curves">{"".join(legend + drops + lines)}'
            f"{axis}</svg>")


def _row(rec: BatchRecord, size: str) -> str:
    cells = [rec.image, size, str(sum(rec.iterations or [0])), f"{rec.seconds or 0:.1f}",
             f"{rec.psnr:.2f}" if rec.psnr is not None else "", f"{rec.ssim:.4f}" if rec.ssim is not None else "",
             rec.kernel.headline() if rec.kernel is not None else "", rec.status + (f": {rec.error}" if rec.error else "")]
    cls = ' class="failed"' if rec.status != "done" else ""
    return f"<tr{cls}>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>"


def _section(rec: BatchRecord, source: Path, output: Path) -> str:
    title = f"<h2>{html.escape(rec.image)}</h2>"
    if rec.status != "done":
        return f'<section>{title}<p class="failed">{html.escape(rec.error)}</p></section>'
    kernel = rec.kernel.to_json() if rec.kernel is not None else {}
    ktext = html.escape(", ".join(f"{k}: {v}" for k, v in kernel.items() if v not in ("", None)))
    kimg = _img(kernel_picture(np.array(rec.kernel_taps)), "kernel") if rec.kernel_taps else ""
    headline = rec.kernel.headline() if rec.kernel is not None else "bicubic"
    return (f"<section>{title}{_crops(source, output)}<h3>training</h3>{_curves(rec.curves or [])}"
            f'<div class="kernel"><h3>kernel</h3>{kimg}<p class="finding">{html.escape(headline)}</p><p>{ktext}</p>'
            "</div></section>")


def write_report(plan: BatchPlan, records: list[BatchRecord], path: str | os.PathLike[str],
                 overwrite: bool = False) -> Path:
    """Write the report of a batch (its plan and each image's manifest record) atomically; returns its path."""
    by_name = {r.image: r for r in records}
    rows, sections = [], []
    for item, out in zip(plan.inputs.items, plan.outputs):
        rec = by_name.get(item.relative.as_posix())
        if rec is None:
            continue
        size = "-"
        if rec.status == "done":
            lr_hw, sr_hw = read_image(item.source).pixels.shape[:2], read_image(out).pixels.shape[:2]
            size = f"{lr_hw[1]}x{lr_hw[0]} -> {sr_hw[1]}x{sr_hw[0]}"
        rows.append(_row(rec, size))
        sections.append(_section(rec, item.source, out))
    head = "".join(f"<th>{h}</th>" for h in ("image", "size", "iterations", "seconds", "Y-PSNR", "SSIM", "kernel",
                                                  "status"))
    page = (f'<!doctype html><html><head><meta charset="utf-8"><title>zssr-deploy batch report</title>'
            f"<style>{_STYLE}</style>{_SELF_CHECK}</head><body><h1>zssr-deploy batch: {len(rows)} image(s)</h1>"
            f'<table id="summary"><tr>{head}</tr>{"".join(rows)}</table>{"".join(sections)}</body></html>')
    return write_bytes_atomic(path, page.encode("utf-8"), overwrite)
