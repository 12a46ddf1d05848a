"""Where one training iteration's time goes (issue 32, item 1: the facts a CUDA-graph fit is designed on).

A default x2 fit of one image, ``--iters`` iterations of its one scale step (no final inference), under
``torch.profiler``: the wall time per iteration, the device's busy time per iteration (the sum of its kernels),
kernel launches, host-device copies and synchronisations per iteration, the host operators that cost most, and
how many distinct father shapes the sampler drew (a CUDA graph replays one shape). On a CPU machine it runs the
same, without device numbers (``--quick``: checks the script).

    python benchmarks/gpu/fit_profile.py --image DATA/Set5/bird.png --json /tmp/fit_profile.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
from common import cpu_model  # noqa: E402

SYNC_EVENTS = ("cudaStreamSynchronize", "cudaDeviceSynchronize", "cudaEventSynchronize")


def profile_fit(lr, iters: int, device: str = "auto", cuda_graphs: bool = False) -> dict:
    """Profile ``iters`` iterations of a default x2 fit of ``lr`` (float32 HxWxC), eager or with
    ``--cuda-graphs``; a dict of per-iteration facts."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    import zssr_deploy.trainers.step as step_mod
    from zssr_deploy.trainers.config import ZSSRConfig
    from zssr_deploy.trainers.fitting import fit

    shapes: Counter = Counter()
    original = step_mod.sample_father

    def counted(*args, **kwargs):
        father = original(*args, **kwargs)
        shapes[tuple(father.shape[1:])] += 1
        return father

    cfg = ZSSRConfig(max_iters=iters, device=device, cuda_graphs=cuda_graphs)
    fit(lr, ZSSRConfig(max_iters=20, device=device), final_inference=False)  # warm-up: allocator, cuDNN, libraries
    cuda = torch.cuda.is_available() and device != "cpu"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    step_mod.sample_father = counted
    try:
        with profile(activities=activities) as prof:
            t0 = time.perf_counter()
            result = fit(lr, cfg, final_inference=False)
            if cuda:
                torch.cuda.synchronize()
            wall = time.perf_counter() - t0
    finally:
        step_mod.sample_father = original
    n = result.steps[0].iterations
    events = prof.key_averages()
    count = {e.key: e.count for e in events}
    device_us = sum(getattr(e, "self_device_time_total", 0.0) for e in events
                    if getattr(e, "device_type", None) is not None and "cuda" in str(e.device_type).lower())
    top = sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)[:12]
    return {
        "device": result.device, "precision": result.precision, "cuda_graphs": cuda_graphs, "iterations": n,
        "wall_ms_per_iteration": round(1000 * wall / n, 3),
        "device_busy_ms_per_iteration": round(device_us / 1000 / n, 3) if cuda else None,
        "kernel_launches_per_iteration": round(count.get("cudaLaunchKernel", 0) / n, 1) if cuda else None,
        "graph_launches_per_iteration": round(count.get("cudaGraphLaunch", 0) / n, 2) if cuda else None,
        "copies_per_iteration": round(sum(v for k, v in count.items() if k.startswith("cudaMemcpy")) / n, 2) if cuda else None,
        "syncs_per_iteration": round(sum(count.get(k, 0) for k in SYNC_EVENTS) / n, 2) if cuda else None,
        "distinct_father_shapes": len(shapes),
        "most_common_father_shapes": [[list(s), c] for s, c in shapes.most_common(5)],
        "top_host_ops_ms_per_iteration": [[e.key, round(e.self_cpu_time_total / 1000 / n, 3), round(e.count / n, 2)]
                                          for e in top],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--image", type=Path, default=None, help="an HR image (its rgb-protocol x2 LR is fitted); "
                                                               "default: the bundled astronaut photo, 288 pixels")
    ap.add_argument("--iters", type=int, default=300)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--cuda-graphs", action="store_true", help="profile the graphed fit (a GPU only)")
    ap.add_argument("--quick", action="store_true", help="40 iterations of a small image: checks the script")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    from zssr_deploy.io import read_image
    from zssr_deploy.metrics import rgb_protocol_lr
    from zssr_deploy.samples import load_sample

    hr = read_image(args.image).pixels if args.image else load_sample("astronaut", 96 if args.quick else 288)
    out = {"cpu": cpu_model(), "date": time.strftime("%Y-%m-%d"), "image": str(args.image or "astronaut"),
           **profile_fit(rgb_protocol_lr(hr, 2), 40 if args.quick else args.iters, args.device, args.cuda_graphs)}
    print(json.dumps(out, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
