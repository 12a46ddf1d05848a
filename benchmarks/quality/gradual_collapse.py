"""Why gradual SR restarts Adam at each scale step: the released code's carried-over moments kill the network.

    python benchmarks/quality/gradual_collapse.py DATA/Set5/bird.png [--iters 101] [--test-every 20]

Fits the first two steps of the paper's gradual x2 schedule, (1.0, 1.5) then (1.5, 1.0), to the RGB-protocol
LR image of the given HR file, twice with the same seed: Adam's moments kept between the steps (the released
code) and restarted (``fresh_optimizer_each_step``, the default). At every reconstruction test it prints the
error and, per hidden layer, the fraction of ReLUs active on the input's upscaled son. A collapse shows as the
last hidden layer at 0 % and an error frozen to many digits.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from zssr_deploy.io import read_image
from zssr_deploy.metrics import mod_crop, rgb_protocol_lr
from zssr_deploy.trainers.config import PRESETS
from zssr_deploy.trainers.fitting import fit
from zssr_deploy.trainers.step import reconstruction_regions


def active_fractions(step, region: torch.Tensor) -> list[float]:
    """Fraction of positive pre-activations of each hidden layer, on the upscaled son of ``region``."""
    h = step.up(step.son(region), (region.shape[2], region.shape[3]))
    out = []
    convs = [m for m in step.state.net.modules() if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        for conv in convs[:-1]:
            h = conv(h)
            out.append(float((h > 0).float().mean()))
            h = torch.relu(h)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("hr", help="an HR image (e.g. DATA/Set5/bird.png)")
    ap.add_argument("--iters", type=int, default=101)
    ap.add_argument("--test-every", type=int, default=20)
    args = ap.parse_args()
    hr = mod_crop(read_image(args.hr).pixels.astype(np.float64), 2)
    lr = rgb_protocol_lr(hr, 2)
    for fresh in (False, True):
        print(f"\nAdam {'restarted' if fresh else 'kept (released code)'} at each step:")
        two_steps(lr, args.iters, args.test_every, fresh)


def two_steps(lr: np.ndarray, iters: int, test_every: int, fresh: bool) -> None:
    """Fit the two steps, printing the error and the active ReLUs right after each reconstruction test."""
    current: dict = {}

    def on_step(ev):  # the step in training, for the progress reports that follow
        current.update(step=ev.step, printed=-1)

    def progress(p):  # reports at iterations 1, 1 + test_every, ... follow a reconstruction test
        if (p.iteration - 1) % test_every or p.iteration == current["printed"]:
            return
        step, current["printed"] = current["step"], p.iteration
        act = active_fractions(step, reconstruction_regions(step.state.current_input[None], step.state.config)[0])
        print(f"  step x{step.scale}: reconstruction error {p.reconstruction_error:.8e}, active ReLUs per hidden layer "
              + " ".join(f"{a:.0%}" for a in act))

    cfg = PRESETS["gradual"].replace(scale_factors=((1.0, 1.5), (1.5, 1.0)), back_projection_iters=(6, 6),
                                     max_iters=iters, test_every=test_every, device="cpu", precision="fp32",
                                     fresh_optimizer_each_step=fresh)
    fit(lr, cfg, progress=progress, on_step=on_step)


if __name__ == "__main__":
    main()
