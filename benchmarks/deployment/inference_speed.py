"""Final-inference speed: the exported pipeline in ONNX Runtime (CPU) against the torch eager pipeline,
side by side on the same image and network, plus peak memory of a tiled large-image run.

    python benchmarks/deployment/inference_speed.py [--size 256] [--repeats 3] [--rss-size 2048] [--tile 128]
    python benchmarks/deployment/inference_speed.py --peak-size 1024 [--threads N]    # achieved GFLOP/s against the peak

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


def ort_conv_peak(threads: int, side: int = 512, repeats: int = 5) -> float:
    """This machine's convolution peak as ONNX Runtime reaches it: GFLOP/s of one 64->64 3x3 Conv (the
    network's main layer) on a 1x64xSIDExSIDE input, same threads, best of ``repeats``."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.random.default_rng(0).standard_normal((64, 64, 3, 3)).astype(np.float32), "w")
    graph = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])], "conv",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64, side, side])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64, side, side])], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(1).random((1, 64, side, side), dtype=np.float32)
    sess.run(None, {"x": x})
    best = min(_timed(lambda: sess.run(None, {"x": x})) for _ in range(repeats))
    return 2 * 64 * 64 * 9 * side * side / best / 1e9


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def pipeline_flops(pipe: ZSSRPipeline, side: int, count_side: int = 128) -> float:
    """Convolution FLOPs of the whole pipeline (network x 8 members, resizes, back-projection) for a
    ``side x side`` input: counted by torch's FlopCounterMode at ``count_side`` and scaled by the pixel count
    (every convolution's cost is proportional to its image's area)."""
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.rand(1, 3, count_side, count_side, generator=torch.Generator().manual_seed(0))
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        pipe(x)
    return counter.get_total_flops() * (side / count_side) ** 2


def peak_report(pipe: ZSSRPipeline, path: str, side: int, threads: int) -> None:
    model = ZSSRModel(path, provider="cpu", threads=threads or None)
    img = np.random.default_rng(0).random((side, side, 3), dtype=np.float32)
    model.run(img[:256, :256])  # warm-up
    seconds = _timed(lambda: model.run(img))
    flops, peak = pipeline_flops(pipe, side), ort_conv_peak(threads)
    achieved = flops / seconds / 1e9
    print(f"{side}x{side} -> {2 * side}x{2 * side}, ONNX Runtime CPU, {threads or 'default'} threads: {seconds:.1f} s, "
          f"{flops / 1e12:.2f} TFLOP of convolutions -> {achieved:.1f} GFLOP/s")
    print(f"  measured peak (one 64->64 3x3 Conv in ONNX Runtime, same threads): {peak:.1f} GFLOP/s")
    print(f"  achieved / peak: {100 * achieved / peak:.0f} %")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=256, help="LR side for the speed comparison")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--rss-size", type=int, default=2048, help="LR side of the tiled memory run (0: skip)")
    ap.add_argument("--tile", type=int, default=128)
    ap.add_argument("--threads", type=int, default=0, help="threads for both engines (0: their defaults)")
    ap.add_argument("--peak-size", type=int, default=0, help="LR side of the GFLOP/s-against-peak run (0: skip)")
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
        if args.peak_size:
            peak_report(pipe, path, args.peak_size, args.threads)
            return
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
