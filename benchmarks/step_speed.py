"""One ZSSR training step (forward, backward, Adam) at a fixed crop size, per precision and memory format, with
the GFLOP/s it achieves beside this machine's convolution peak per precision, and optionally the released
code's TensorFlow step measured in the same run.

    python benchmarks/step_speed.py [--size 128] [--steps 10] [--threads 1] \\
        [--tf-python PORT_VENV/bin/python --port-dir PORT]

Prints milliseconds and GFLOP/s per step for fp32 and bf16 autocast, contiguous and channels_last, and whether
this machine has native bf16 units (without them, bf16 is emulated and far slower). The peak is one 64->64 3x3
convolution (the network's main layer) run forward in torch at the same size and threads, best of a few: what
the step's convolutions could reach here. Their ratio bounds what a faster precision can buy on this CPU: the
step is convolutions, so the step's time cannot fall below its FLOPs over that peak.

``--tf-python``/``--port-dir`` (the released code's port, see ``released_code.py``) also time the released
network's ``train_op`` (TensorFlow, fp32, NHWC, one thread) on the same crop size, so the step-for-step ratio
against the released code comes from one run on one machine; the port's interpreter does that part, one
process after the other (never two at once).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import torch

from zssr_deploy.models.network import ZSSRNet
from zssr_deploy.trainers.device import bf16_supported

TF_STEP = """
import sys, time, numpy as np
from released_zssr import ZSSR, Config
size, steps = int(sys.argv[1]), int(sys.argv[2])
z = ZSSR(np.random.RandomState(0).rand(64, 64, 3), Config(), seed=0)
rng = np.random.RandomState(1)
feed = {'learning_rate:0': 1e-3, 'lr_son:0': rng.rand(1, size, size, 3), 'hr_father:0': rng.rand(1, size, size, 3)}
for i in range(steps + 3):
    if i == 3:
        t = time.perf_counter()
    z.sess.run([z.train_op, z.loss_t, z.net_output_t], feed)
print((time.perf_counter() - t) / steps * 1000)
"""


def step_flops(size: int, width: int = 64, depth: int = 8, channels: int = 3) -> float:
    """FLOPs of one training step's convolutions on a ``size`` x ``size`` crop: the forward pass, the weight
    gradients of every layer and the input gradients of every layer but the first (the image needs none);
    each costs as much as the forward convolution. Activations, loss and Adam are left out (under 2 % here)."""
    chans = [channels] + [width] * (depth - 1) + [channels]
    per_layer = [2 * size * size * cin * cout * 9 for cin, cout in zip(chans[:-1], chans[1:])]
    return sum(per_layer) * 3 - per_layer[0]


def step_ms(size: int, steps: int, bf16: bool, channels_last: bool) -> float:
    torch.manual_seed(0)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    net = ZSSRNet().to(memory_format=fmt)
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    x = torch.rand(1, 3, size, size).contiguous(memory_format=fmt)
    y = torch.rand(1, 3, size, size)
    for i in range(steps + 3):
        if i == 3:
            t = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            res = net(x)
        loss = (res.float() + x - y).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return (time.perf_counter() - t) / steps * 1000


@torch.no_grad()
def torch_conv_peak(size: int, bf16: bool, repeats: int = 5, calls: int = 10) -> float:
    """GFLOP/s of one 64->64 3x3 convolution forward at ``size`` x ``size`` (channels_last; bf16 tensors or
    fp32), best of ``repeats`` batches of ``calls``."""
    dtype = torch.bfloat16 if bf16 else torch.float32
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 64, size, size, generator=g).to(dtype).contiguous(memory_format=torch.channels_last)
    w = torch.randn(64, 64, 3, 3, generator=g).to(dtype).contiguous(memory_format=torch.channels_last)
    torch.nn.functional.conv2d(x, w, padding=1)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(calls):
            torch.nn.functional.conv2d(x, w, padding=1)
        best = min(best, (time.perf_counter() - t) / calls)
    return 2 * 64 * 64 * 9 * size * size / best / 1e9


def tf_step_ms(tf_python: str, port_dir: str, size: int, steps: int, threads: int) -> float:
    env = {**os.environ, "PYTHONPATH": os.path.abspath(port_dir), "OMP_NUM_THREADS": str(threads),
           "TF_ENABLE_ONEDNN_OPTS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    out = subprocess.run([tf_python, "-c", TF_STEP, str(size), str(steps)], cwd=port_dir, env=env,
                         capture_output=True, text=True, check=True).stdout
    return float(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--tf-python", help="the released code's interpreter (with --port-dir)")
    ap.add_argument("--port-dir", help="the released code's port (see released_code.py)")
    args = ap.parse_args()
    if bool(args.tf_python) != bool(args.port_dir):
        ap.error("--tf-python and --port-dir go together")
    if args.threads:
        torch.set_num_threads(args.threads)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from kernel_estimation import cpu_model

    threads = torch.get_num_threads()
    gflop = step_flops(args.size) / 1e9
    print(f"{cpu_model()}; {threads} threads, native bf16: {bf16_supported(torch.device('cpu'))}; "
          f"{args.size}x{args.size} crop, {gflop:.2f} GFLOP of convolution per step")
    peaks = {p: torch_conv_peak(args.size, p == "bf16") for p in ("fp32", "bf16")}
    for p, v in peaks.items():
        print(f"peak {p}: one 64->64 3x3 convolution {v:7.1f} GFLOP/s")
    print(f"peak bf16 / fp32: {peaks['bf16'] / peaks['fp32']:.2f}")
    best = {}
    for bf16 in (False, True):
        for cl in (False, True):
            ms = step_ms(args.size, args.steps, bf16, cl)
            p = "bf16" if bf16 else "fp32"
            best[p] = min(best.get(p, ms), ms)
            print(f"{p} {'channels_last' if cl else 'contiguous':13s} {ms:9.1f} ms/step  {gflop / ms * 1e3:7.1f} GFLOP/s "
                  f"({100 * gflop / ms * 1e3 / peaks[p]:.0f} % of the {p} peak)")
    if args.tf_python:
        ms = tf_step_ms(args.tf_python, args.port_dir, args.size, args.steps, threads)
        print(f"released code (TensorFlow fp32) {ms:9.1f} ms/step  {gflop / ms * 1e3:7.1f} GFLOP/s "
              f"({100 * gflop / ms * 1e3 / peaks['fp32']:.0f} % of the fp32 peak)")
        floor = gflop / peaks["bf16"] * 1e3
        print(f"released step / this step: fp32 {ms / best['fp32']:.2f}x, bf16 {ms / best['bf16']:.2f}x; "
              f"at the bf16 peak ({floor:.1f} ms/step) it could be at most {ms / floor:.2f}x")


if __name__ == "__main__":
    main()
