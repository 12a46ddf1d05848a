"""A batch's HTML report: one self-contained file (images embedded as data URIs, plots as inline SVG) that
people open in a browser: a summary table, and per image the LR, bicubic and ZSSR crops side by side at the
same zoom, the training curves, and the kernel when one was given or estimated. numpy/OpenCV only.
"""

from __future__ import annotations

import base64
import html
import math
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage

from .._version import __version__
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
svg{background:#fafafa;border:1px solid #ddd}
#settings{display:grid;grid-template-columns:max-content auto;gap:2px 12px}#settings dt{font-weight:bold}#settings dd{margin:0}
.kernel img{width:96px;image-rendering:pixelated}""".replace("SHOWN", str(SHOWN))

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
    result = read_image(output)
    lr, sr = read_image(source).pixels, result.pixels
    sy, sx = sr.shape[0] / lr.shape[0], sr.shape[1] / lr.shape[1]
    side = min(CROP, *lr.shape[:2])
    y, x = _busiest(lr, side)
    bicubic = np.clip(imresize(lr, (sy, sx), output_shape=sr.shape[:2]), 0.0, 1.0)
    region = (slice(round(y * sy), round((y + side) * sy)), slice(round(x * sx), round((x + side) * sx)))
    parts = [("LR input", lr[y : y + side, x : x + side]), ("bicubic", bicubic[region]), ("ZSSR", sr[region])]
    if result.alpha is not None:  # the upscaled transparency, as written
        parts.append(("alpha", result.alpha[region][..., None]))
    figs = "".join(f"<figure>{_img(p, name)}<figcaption>{name}</figcaption></figure>" for name, p in parts)
    return f'<div class="crops">{figs}</div><p>crop at LR ({y}, {x}), {side}x{side} LR pixels</p>'


def _x(x: float, x0: float, x1: float) -> float:
    return 40 + 440 * (x - x0) / max(x1 - x0, 1e-12)


def _polyline(xs: list[float], ys: list[float], box: tuple[float, float, float, float], top: float, color: str) -> str:
    x0, x1, y0, y1 = box
    pts = " ".join(f"{_x(x, x0, x1):.1f},{top + PANEL - PANEL * (y - y0) / max(y1 - y0, 1e-12):.1f}" for x, y in zip(xs, ys))
    return f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{pts}"/>'


#: height of one curve's panel (CSS pixels) and the space above it for its title
PANEL, GAP = 60, 26


def _curves(points: list[list[float]]) -> str:
    """Loss, reconstruction error and learning rate against the iteration over all steps, each in its own panel
    with its own labelled log-scale y axis (no curve hides another); dashed lines mark the learning-rate drops."""
    if not points:
        return "<p>no training curves recorded</p>"
    offset, last, xs = 0, {}, []
    for step, it, *_ in points:  # iterations continue across scale steps
        if step not in last:
            offset += max(last.values(), default=0)
        last[step] = it
        xs.append(offset + it)
    series = [("loss (L1)", 2, "#1f77b4"), ("reconstruction error (MSE)", 3, "#d62728"), ("learning rate", 4, "#2ca02c")]
    parts = []
    drop_xs = [_x(x, xs[0], xs[-1]) for x, a, b in zip(xs[1:], points, points[1:]) if b[4] < a[4] and b[0] == a[0]]
    for n, (name, col, color) in enumerate(series):
        top = GAP + n * (PANEL + GAP)
        ys = [math.log10(max(p[col], 1e-12)) for p in points]
        lo, hi = min(ys) - 0.05, max(ys) + 0.05
        parts += [f'<text x="40" y="{top - 8}" fill="{color}" font-size="12">{name}, log scale</text>',
                  f'<line x1="40" x2="40" y1="{top}" y2="{top + PANEL}" stroke="#888"/>',
                  f'<text x="36" y="{top + 9}" font-size="10" text-anchor="end">1e{hi:.1f}</text>',
                  f'<text x="36" y="{top + PANEL}" font-size="10" text-anchor="end">1e{lo:.1f}</text>',
                  *(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + PANEL}" stroke="#2ca02c" '
                    'stroke-dasharray="3,3"/>' for x in drop_xs),
                  _polyline(xs, ys, (xs[0], xs[-1], lo, hi), top, color)]
    bottom = 3 * (PANEL + GAP) + 12
    parts += [f'<text x="40" y="{bottom}" font-size="11">iteration 0</text>',
              f'<text x="480" y="{bottom}" font-size="11" text-anchor="end">{xs[-1]:.0f}</text>']
    return (f'<svg width="500" height="{bottom + 6}" role="img" aria-label="training curves">{"".join(parts)}</svg>')


def _row(rec: BatchRecord, size: str, scored: bool) -> str:
    scores = [f"{rec.psnr:.2f}" if rec.psnr is not None else "", f"{rec.ssim:.4f}" if rec.ssim is not None else ""]
    cells = [rec.image, size, str(sum(rec.iterations or [0])), f"{rec.seconds or 0:.1f}", *(scores if scored else []),
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


def _settings(plan: BatchPlan, records: list[BatchRecord]) -> str:
    """The run's settings and totals, above the table: what a reader needs to compare two reports."""
    cfg = plan.config
    done = [r for r in records if r.status == "done"]
    items = {"scale": " then ".join(f"x{sy:g}" if sy == sx else f"x{sy:g},{sx:g}" for sy, sx in cfg.scale_factors),
             "iterations cap": f"{cfg.max_iters} per step", "seed": str(cfg.seed), "kernel": plan.kernel.kind,
             "device": cfg.device, "inference": f"{plan.inference.engine} ({plan.inference.provider})",
             "zssr-deploy": __version__, "written": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
             "images": f"{len(done)} done, {sum(r.status == 'failed' for r in records)} failed",
             "total time": f"{sum(r.seconds or 0.0 for r in done):.1f} s of fitting and inference"}
    cells = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in items.items())
    return f'<dl id="settings">{cells}</dl>'


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
        rows.append((rec, size))
        sections.append(_section(rec, item.source, out))
    scored = any(r.psnr is not None for r, _ in rows)  # no empty PSNR/SSIM columns without ground truths
    head = "".join(f"<th>{h}</th>" for h in ("image", "size", "iterations", "seconds",
                                              *(("Y-PSNR", "SSIM") if scored else ()), "kernel", "status"))
    table = "".join(_row(r, size, scored) for r, size in rows)
    page = (f'<!doctype html><html><head><meta charset="utf-8"><title>zssr-deploy batch report</title>'
            f"<style>{_STYLE}</style>{_SELF_CHECK}</head><body><h1>zssr-deploy batch: {len(rows)} image(s)</h1>"
            f'{_settings(plan, [r for r, _ in rows])}<table id="summary"><tr>{head}</tr>{table}</table>'
            f'{"".join(sections)}</body></html>')
    return write_bytes_atomic(path, page.encode("utf-8"), overwrite)
