"""Final-inference speed: the exported pipeline in ONNX Runtime (CPU) against the torch eager pipeline,
side by side on the same image and network, plus peak memory of a tiled large-image run.

    python benchmarks/inference_speed.py [--size 256] [--repeats 3] [--rss-size 2048] [--tile 128]

Prints seconds per run for both engines and their ratio, the max abs difference, and the peak RSS of a
separate process that runs a x2 model tiled over an RSS_SIZE x RSS_SIZE LR image.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

from zssr_deploy.exporters import export_pipeline
from zssr_deploy.models.network import ZSSRNet
from zssr_deploy.models.pipeline import ZSSRPipeline
from zssr_deploy.runtime import ZSSRModel

RSS_CHILD = """
import resource, sys, time
import numpy as np
from zssr_deploy.runtime import ZSSRModel
model = ZSSRModel(sys.argv[1], provider="cpu")
size, tile = int(sys.argv[2]), int(sys.argv[3])
img = np.random.default_rng(0).random((size, size, 3), dtype=np.float32)
t = time.perf_counter()
out = model.run_tiled(img, tile=tile)
print(out.shape[0], out.shape[1], round(time.perf_counter() - t, 1),
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=256, help="LR side for the speed comparison")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--rss-size", type=int, default=2048, help="LR side of the tiled memory run (0: skip)")
    ap.add_argument("--tile", type=int, default=128)
    ap.add_argument("--threads", type=int, default=0, help="threads for both engines (0: their defaults)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    net = ZSSRNet(3, generator=torch.Generator().manual_seed(0)).eval()
    pipe = ZSSRPipeline(net, (2.0, 2.0), "cubic", bp_iters=10, ensemble=True, net_tile=None).eval()
    img = np.random.default_rng(0).random((args.size, args.size, 3), dtype=np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "x2.onnx")
        t0 = time.perf_counter()
        export_pipeline(pipe, path)
        print(f"export: {time.perf_counter() - t0:.1f} s (x2, 8-way ensemble, 10 + 10 back-projection steps)")
        model = ZSSRModel(path, provider="cpu", threads=args.threads or None)
        x = torch.from_numpy(img).permute(2, 0, 1)[None]
        with torch.no_grad():
            ref = pipe(x)  # warm-up
            t_torch = []
            for _ in range(args.repeats):
                t = time.perf_counter()
                ref = pipe(x)
                t_torch.append(time.perf_counter() - t)
        out = model.run(img)  # warm-up
        t_ort = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            out = model.run(img)
            t_ort.append(time.perf_counter() - t)
        diff = float(np.abs(out - ref[0].permute(1, 2, 0).numpy()).max())
        bt, bo = min(t_torch), min(t_ort)
        ort_threads = args.threads or "default"
        print(f"{args.size}x{args.size} -> {2 * args.size}x{2 * args.size}, torch {torch.get_num_threads()} threads, "
              f"ONNX Runtime {ort_threads} threads, best of {args.repeats}:")
        print(f"  torch eager pipeline     {bt:8.3f} s")
        print(f"  ONNX Runtime CPU graph   {bo:8.3f} s")
        print(f"  ratio torch / ORT        {bt / bo:8.2f}x")
        print(f"  max |ORT - torch|        {diff:.2e}")
        if args.rss_size:
            r = subprocess.run([sys.executable, "-c", RSS_CHILD, path, str(args.rss_size), str(args.tile)],
                               capture_output=True, text=True, check=True)
            oh, ow, secs, rss_mb = r.stdout.split()
            print(f"tiled x2 run {args.rss_size}x{args.rss_size} -> {oh}x{ow}, tile {args.tile}: {secs} s, "
                  f"peak RSS {int(rss_mb) / 1024:.2f} GiB")


if __name__ == "__main__":
    main()
