"""One ZSSR training step (forward, backward, Adam) at a fixed crop size, per precision and memory format.

    python benchmarks/step_speed.py [--size 128] [--steps 10]

Prints milliseconds per step for fp32 and bf16 autocast, contiguous and channels_last, and whether this
machine has native bf16 units (without them, bf16 is emulated and far slower).
"""

from __future__ import annotations

import argparse
import time

import torch

from zssr_deploy.models.network import ZSSRNet
from zssr_deploy.trainers.device import bf16_supported


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--steps", type=int, default=10)
    args = ap.parse_args()
    print(f"{torch.get_num_threads()} threads, native bf16: {bf16_supported(torch.device('cpu'))}")
    for bf16 in (False, True):
        for cl in (False, True):
            ms = step_ms(args.size, args.steps, bf16, cl)
            print(f"{'bf16' if bf16 else 'fp32'} {'channels_last' if cl else 'contiguous':13s} {ms:9.1f} ms/step")


if __name__ == "__main__":
    main()
