"""Quality against speed of the final inference: the 8-way ensemble on or off, and fewer back-projection
iterations, on the same fitted networks (one default fit per image, then each inference variant exported and
run through ONNX Runtime on the CPU). Y-PSNR and inference seconds per variant; the ``lscpu`` model recorded.

    python benchmarks/deployment/inference_tradeoff.py DATA/Set5 \\
        --json benchmarks/results/inference_tradeoff_set5_x2/inference_tradeoff_set5_x2.json

LR inputs by ``evaluate``'s rgb protocol (mod-crop, MATLAB bicubic, 8-bit), scored against the mod-cropped HR.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/common.py
from common import cpu_model  # noqa: E402

from zssr_deploy.exporters import export_pipeline_cached  # noqa: E402
from zssr_deploy.files import write_bytes_atomic  # noqa: E402
from zssr_deploy.io import read_image  # noqa: E402
from zssr_deploy.metrics import mod_crop, rgb_protocol_lr, score_output  # noqa: E402
from zssr_deploy.models.pipeline import ZSSRPipeline  # noqa: E402
from zssr_deploy.runtime import ZSSRModel  # noqa: E402
from zssr_deploy.trainers.config import build_config  # noqa: E402
from zssr_deploy.trainers.fitting import fit  # noqa: E402

VARIANTS = [(True, 10), (True, 2), (True, 0), (False, 10), (False, 2), (False, 0)]


def name(ensemble: bool, bp: int) -> str:
    return f"{'ensemble' if ensemble else 'no ensemble'}, bp {bp}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("hr_dir", type=Path)
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--scale", type=int, default=2)
    args = ap.parse_args()
    res = {"cpu": cpu_model(), "scale": args.scale, "images": {}}
    for path in sorted(p for p in args.hr_dir.iterdir() if p.suffix.lower() in (".png", ".bmp")):
        hr = mod_crop(read_image(path).pixels, args.scale)
        lr = rgb_protocol_lr(hr, args.scale)
        t0 = time.perf_counter()
        net = fit(lr, build_config("ideal", args.scale)).pipeline.net
        row = {"fit_s": round(time.perf_counter() - t0, 1)}
        for ensemble, bp in VARIANTS:
            pipe = ZSSRPipeline(net, (args.scale, args.scale), "cubic", bp_iters=bp, ensemble=ensemble).eval()
            with tempfile.TemporaryDirectory() as tmp:
                model_path, _ = export_pipeline_cached(pipe, Path(tmp) / "m.onnx")
                model = ZSSRModel(model_path, provider="cpu")
                t = time.perf_counter()
                sr = model.run(lr)
                seconds = time.perf_counter() - t
            row[name(ensemble, bp)] = {"psnr": round(score_output(sr, hr, args.scale)[0], 3), "seconds": round(seconds, 2)}
        res["images"][path.stem] = row
        print(path.stem, row, flush=True)
    write_bytes_atomic(args.json, (json.dumps(res, indent=1) + "\n").encode(), overwrite=True)
    print("| variant | mean Y-PSNR | mean inference s |")
    print("|---|---|---|")
    for ensemble, bp in VARIANTS:
        v = [r[name(ensemble, bp)] for r in res["images"].values()]
        print(f"| {name(ensemble, bp)} | {np.mean([x['psnr'] for x in v]):.3f} | {np.mean([x['seconds'] for x in v]):.2f} |")
    print(f"on {res['cpu']}")


if __name__ == "__main__":
    main()
