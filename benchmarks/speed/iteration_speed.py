"""One ZSSR training step (forward, backward, Adam) at a fixed crop size, per precision and memory format, with
the GFLOP/s it achieves beside this machine's convolution peak per precision, and optionally the released
code's TensorFlow step measured in the same run.

    python benchmarks/speed/iteration_speed.py [--size 128] [--steps 10] [--threads 1] \\
        [--tf-python PORT_VENV/bin/python --port-dir PORT]

Prints milliseconds and GFLOP/s per step for fp32 and bf16 autocast, contiguous and channels_last, and whether
this machine has native bf16 units (without them, bf16 is emulated and far slower). The peak is one 64->64 3x3
convolution (the network's main layer) run forward in torch at the same size and threads, best of a few: what
the step's convolutions could reach here. Their ratio bounds what a faster precision can buy on this CPU: the
step is convolutions, so the step's time cannot fall below its FLOPs over that peak.

Memory: a loop of identical steps makes glibc's malloc return the freed activations to the system after
every step and fault them in again (thousands of page faults, 10-25 % of a bf16 step on AMD EPYC), which a
real fit, whose father sizes vary, does not (about 15 faults per iteration, measured in ``fit``). So the
benchmark sets glibc's trim and mmap thresholds (``mallopt``) before timing, and prints the page faults per
step; ``--glibc-default`` leaves them alone, to see the difference.

The step's convolutions are also timed one by one (forward, input gradient, weight gradient, at the step's
sizes and layout): their sum is what the step would take if everything else were free, with the convolution
kernels this torch build has. A step close to that sum has nothing left to gain but faster kernels.

``--tf-python``/``--port-dir`` (the released code's port, see ``released_code.py``) also time the released
network's ``train_op`` (TensorFlow, fp32, NHWC, one thread) on the same crop size, so the step-for-step ratio
against the released code comes from one run on one machine; the port's interpreter does that part, one
process after the other (never two at once).
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import os
import resource
import subprocess
import sys
import time
from functools import partial

import torch

from zssr_deploy.models.device import bf16_supported
from zssr_deploy.models.network import ZSSRNet

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


def keep_freed_heap() -> bool:
    """Ask glibc to keep freed memory (trim threshold 1 GiB, mmap threshold 32 MiB, its maximum), as a real fit's
    varying shapes effectively do; False where the C library is not glibc."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        m_trim_threshold, m_mmap_threshold = -1, -3
        return bool(libc.mallopt(m_trim_threshold, 1 << 30)) and bool(libc.mallopt(m_mmap_threshold, 32 << 20))
    except (OSError, AttributeError):
        return False


def minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def step_ms(size: int, steps: int, bf16: bool, channels_last: bool) -> tuple[float, float]:
    """Milliseconds per step and page faults per step, after 3 steps of warm-up."""
    torch.manual_seed(0)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    net = ZSSRNet().to(memory_format=fmt)
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    x = torch.rand(1, 3, size, size).contiguous(memory_format=fmt)
    y = torch.rand(1, 3, size, size)
    for i in range(steps + 3):
        if i == 3:
            t, faults = time.perf_counter(), minor_faults()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            res = net(x)
        loss = (res.float() + x - y).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return (time.perf_counter() - t) / steps * 1000, (minor_faults() - faults) / steps


def best_ms(call, repeats: int = 5, calls: int = 5) -> float:
    """Milliseconds per ``call()``: the best of ``repeats`` batches of ``calls``, after one call to warm up."""
    call()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(calls):
            call()
        best = min(best, (time.perf_counter() - t) / calls)
    return best * 1000


@torch.no_grad()
def torch_conv_peak(size: int, bf16: bool, repeats: int = 5, calls: int = 10) -> float:
    """GFLOP/s of one 64->64 3x3 convolution forward at ``size`` x ``size`` (channels_last; bf16 tensors or
    fp32), best of ``repeats`` batches of ``calls``."""
    dtype = torch.bfloat16 if bf16 else torch.float32
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 64, size, size, generator=g).to(dtype).contiguous(memory_format=torch.channels_last)
    w = torch.randn(64, 64, 3, 3, generator=g).to(dtype).contiguous(memory_format=torch.channels_last)
    ms = best_ms(partial(torch.nn.functional.conv2d, x, w, padding=1), repeats, calls)
    return 2 * 64 * 64 * 9 * size * size / ms / 1e6


@torch.no_grad()
def convolution_floor(size: int, bf16: bool, width: int = 64, depth: int = 8, channels: int = 3) -> dict[str, float]:
    """Milliseconds of the step's convolutions, each timed alone at this library's (oneDNN's) own rate, in the
    precision and layout the trainer uses (channels_last): the forward, the input gradient (all layers but the
    first) and the weight gradient of every layer. Their sum is the step's floor with these kernels."""
    dtype = torch.bfloat16 if bf16 else torch.float32
    fmt = torch.channels_last
    g = torch.Generator().manual_seed(0)
    chans = [channels] + [width] * (depth - 1) + [channels]
    parts = {"forward": 0.0, "input gradient": 0.0, "weight gradient": 0.0}
    for i, (cin, cout) in enumerate(zip(chans[:-1], chans[1:])):
        x = torch.rand(1, cin, size, size, generator=g).to(dtype).contiguous(memory_format=fmt)
        w = torch.randn(cout, cin, 3, 3, generator=g).to(dtype).contiguous(memory_format=fmt)
        go = torch.randn(1, cout, size, size, generator=g).to(dtype).contiguous(memory_format=fmt)
        parts["forward"] += best_ms(partial(torch.nn.functional.conv2d, x, w, padding=1))
        backward = partial(torch.ops.aten.convolution_backward, go, x, w, None, [1, 1], [1, 1], [1, 1], False,
                           [0, 0], 1)
        if i > 0:  # the image needs no gradient
            parts["input gradient"] += best_ms(partial(backward, [True, False, False]))
        parts["weight gradient"] += best_ms(partial(backward, [False, True, False]))
    return parts


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
    ap.add_argument("--glibc-default", action="store_true", help="leave glibc's malloc thresholds alone")
    ap.add_argument("--tf-python", help="the released code's interpreter (with --port-dir)")
    ap.add_argument("--port-dir", help="the released code's port (see released_code.py)")
    args = ap.parse_args()
    if bool(args.tf_python) != bool(args.port_dir):
        ap.error("--tf-python and --port-dir go together")
    if args.threads:
        torch.set_num_threads(args.threads)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # common.py
    from common import cpu_model  # noqa: E402

    heap = "glibc defaults" if args.glibc_default else ("freed memory kept" if keep_freed_heap() else "not glibc")
    threads = torch.get_num_threads()
    gflop = step_flops(args.size) / 1e9
    print(f"{cpu_model()}; {threads} threads, native bf16: {bf16_supported(torch.device('cpu'))}; "
          f"{args.size}x{args.size} crop, {gflop:.2f} GFLOP of convolution per step; malloc: {heap}")
    peaks = {p: torch_conv_peak(args.size, p == "bf16") for p in ("fp32", "bf16")}
    for p, v in peaks.items():
        print(f"peak {p}: one 64->64 3x3 convolution {v:7.1f} GFLOP/s")
    print(f"peak bf16 / fp32: {peaks['bf16'] / peaks['fp32']:.2f}")
    best = {}
    for bf16 in (False, True):
        for cl in (False, True):
            ms, faults = step_ms(args.size, args.steps, bf16, cl)
            p = "bf16" if bf16 else "fp32"
            best[p] = min(best.get(p, ms), ms)
            print(f"{p} {'channels_last' if cl else 'contiguous':13s} {ms:9.1f} ms/step  {gflop / ms * 1e3:7.1f} GFLOP/s "
                  f"({100 * gflop / ms * 1e3 / peaks[p]:.0f} % of the {p} peak), {faults:.0f} page faults/step")
    for p in ("fp32", "bf16"):
        parts = convolution_floor(args.size, p == "bf16")
        total = sum(parts.values())
        print(f"{p} convolutions alone (channels_last): " + ", ".join(f"{k} {v:.1f}" for k, v in parts.items())
              + f" ms; sum {total:.1f} ms = {100 * total / best[p]:.0f} % of the best {p} step")
    if args.tf_python:
        ms = tf_step_ms(args.tf_python, args.port_dir, args.size, args.steps, threads)
        print(f"released code (TensorFlow fp32) {ms:9.1f} ms/step  {gflop / ms * 1e3:7.1f} GFLOP/s "
              f"({100 * gflop / ms * 1e3 / peaks['fp32']:.0f} % of the fp32 peak)")
        floor = gflop / peaks["bf16"] * 1e3
        print(f"released step / this step: fp32 {ms / best['fp32']:.2f}x, bf16 {ms / best['bf16']:.2f}x; "
              f"at the bf16 peak ({floor:.1f} ms/step) it could be at most {ms / floor:.2f}x")


if __name__ == "__main__":
    main()
