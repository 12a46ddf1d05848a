"""The state of a fit between scale steps: the network, its optimizer, every random generator, the father
sources and which of them is the current input. It saves itself into a checkpoint and restores itself from
one, so that a resumed fit continues exactly where the interrupted one stopped."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from ..errors import CheckpointError
from ..models.device import memory_format_for, resolve_device, resolve_precision
from ..models.network import ZSSRNet
from .config import ZSSRConfig

__all__ = ["FitState", "Progress", "StepSummary", "image_to_tensor", "tensor_to_image"]

log = logging.getLogger(__name__)


def image_to_tensor(img: np.ndarray, device: torch.device) -> torch.Tensor:
    """float32 ``HxWxC`` numpy -> ``(C, H, W)`` tensor on ``device``."""
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).to(device)


def tensor_to_image(t: torch.Tensor) -> np.ndarray:
    """``(C, H, W)`` tensor -> float32 ``HxWxC`` numpy on the CPU."""
    return t.permute(1, 2, 0).float().cpu().numpy()


@dataclass(frozen=True)
class Progress:
    """Reported at every reconstruction test, every 10 iterations between them, and at the end of a step."""

    step: int
    """Index of the scale step (0 for one-jump SR)."""
    steps: int
    """Number of scale steps."""
    iteration: int
    """Training iterations done in this step."""
    max_iters: int
    loss: float
    """L1 loss at the last reconstruction test (read from the device only then)."""
    reconstruction_error: float
    """MSE between the input and the network's reconstruction of it from its own son."""
    learning_rate: float


@dataclass(frozen=True)
class StepSummary:
    """What one trained scale step did (kept in the checkpoint, reported by the fit)."""

    scale: tuple[float, float]
    """Factor of this step relative to its input (after any base change)."""
    iterations: int
    learning_rate_drops: list[int]
    """Iterations at which the learning rate was divided by 10."""
    final_learning_rate: float
    reconstruction_error: float
    seconds: float


def _graphs_wanted(config: ZSSRConfig, device: torch.device) -> bool:
    """``config.cuda_graphs`` where it can be honoured (a CUDA device, no son noise); said once otherwise."""
    if not config.cuda_graphs:
        return False
    why = ("it needs a CUDA device" if device.type != "cuda" else
           "son noise draws from a generator the graph does not capture" if config.noise_std > 0 else None)
    if why:
        log.warning("cuda_graphs asked for, but %s: training runs eagerly", why)
    return why is None


def _adam(net: ZSSRNet, lr: float, graphed: bool) -> torch.optim.Adam:
    """The fit's optimizer; a graphed fit's keeps its rate and step counts on the device (``capturable``), where
    a replayed step reads them."""
    if graphed:
        rate = torch.tensor(lr, dtype=torch.float32, device=next(net.parameters()).device)
        return torch.optim.Adam(net.parameters(), lr=rate, capturable=True)
    return torch.optim.Adam(net.parameters(), lr=lr)


@dataclass
class FitState:
    """Everything that carries over from one scale step to the next (build it with :meth:`start`)."""

    config: ZSSRConfig
    """The fit's settings (after a non-symmetric kernel turned rotations off)."""
    device: torch.device
    precision: str
    """'fp32' or 'bf16' (never 'auto': resolved for the device)."""
    net: ZSSRNet
    optimizer: torch.optim.Adam
    rng: np.random.Generator
    """Draws every father's random parameters (a handful of scalars per iteration)."""
    gen: torch.Generator
    """Draws the noise added to sons, on the training device."""
    sources: list[torch.Tensor]
    """``(C, H, W)`` images fathers are cut from: the input, then every finished step's output."""
    current_index: int = 0
    """Which source is the current input (it changes at a base change)."""
    summaries: list[StepSummary] = field(default_factory=list)
    """One per finished step."""
    seconds_before: float = 0.0
    """Fit seconds spent before this process (steps restored from a checkpoint)."""
    graphed: bool = False
    """Iterations replayed as CUDA graphs (``config.cuda_graphs`` on a CUDA device, no son noise)."""

    @classmethod
    def start(cls, image: np.ndarray, config: ZSSRConfig) -> FitState:
        """A new fit of ``image`` (float32 ``HxWxC``): a freshly initialised network, every generator seeded."""
        device = resolve_device(config.device)
        precision = resolve_precision(config.precision, device)
        gen = torch.Generator(device=device)
        gen.manual_seed(config.seed)
        rng = np.random.default_rng(config.seed)
        net = ZSSRNet(image.shape[2], config.width, config.depth, config.init_variance,
                      generator=torch.Generator().manual_seed(config.seed))
        net = net.to(device, memory_format=memory_format_for(precision))
        graphed = _graphs_wanted(config, device)
        return cls(config, device, precision, net, _adam(net, config.learning_rate, graphed), rng, gen,
                   [image_to_tensor(image, device)], graphed=graphed)

    @property
    def memory_format(self) -> torch.memory_format:
        return memory_format_for(self.precision)

    def autocast(self) -> torch.autocast:
        # a captured graph must not hold autocast's cache of cast weights (they change at every Adam step)
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16",
                              cache_enabled=not self.graphed)

    @property
    def current_input(self) -> torch.Tensor:
        """The image the current step super-resolves, ``(C, H, W)`` on the device."""
        return self.sources[self.current_index]

    @property
    def steps_done(self) -> int:
        return len(self.summaries)

    @property
    def max_father_scale(self) -> float:
        """The largest father scale relative to the input: that of the newest source (1 for the input)."""
        return self.base_scales[len(self.sources) - 1]

    @property
    def base_scales(self) -> list[float]:
        """The scale of each source relative to the input: 1, then each step's (smaller) factor."""
        return [1.0] + [min(sf) for sf in self.config.scale_factors]

    def restart_optimizer(self) -> None:
        """A new scale step is a new objective: fresh Adam moments (the weights are kept)."""
        self.optimizer = _adam(self.net, self.config.learning_rate, self.graphed)

    def add_output(self, output: np.ndarray, base_change: bool) -> None:
        """A finished step's output joins the sources; after a base change it is also the new input."""
        self.sources.append(image_to_tensor(output, self.device))
        if base_change:
            self.current_index = len(self.sources) - 1

    def to_checkpoint(self, seconds: float) -> dict:
        """Tensors and plain values only (read back with ``torch.load(weights_only=True)``)."""
        trainer = {"net": self.net.state_dict(), "optimizer": self.optimizer.state_dict(),
                   "rng": self.rng.bit_generator.state, "gen": self.gen.get_state(), "torch_rng": torch.get_rng_state()}
        return {"steps_done": self.steps_done, "trainer": trainer, "sources": [s.cpu() for s in self.sources],
                "current_index": self.current_index, "summaries": [asdict(s) for s in self.summaries],
                "seconds": seconds}

    def restore(self, saved: dict, source: str) -> None:
        """Continue after the last step ``saved`` holds: weights, Adam moments, every random state, the sources
        and the current input, exactly as they were."""
        steps_done, n_steps = int(saved["steps_done"]), len(self.config.scale_factors)
        if not 1 <= steps_done < n_steps:
            raise CheckpointError(f"{source!r} holds {steps_done} finished steps of {n_steps}; "
                                  "delete it to start the fit afresh")
        trainer = saved["trainer"]
        self.net.load_state_dict(trainer["net"])
        self.optimizer.load_state_dict(trainer["optimizer"])
        for group in self.optimizer.param_groups:  # a graphed fit's rate tensor belongs on the training device
            if isinstance(group["lr"], torch.Tensor):
                group["lr"] = group["lr"].to(self.device)
        self.rng.bit_generator.state = trainer["rng"]
        self.gen.set_state(trainer["gen"])
        torch.set_rng_state(trainer["torch_rng"])
        self.sources = [s.to(self.device) for s in saved["sources"]]
        self.current_index = int(saved["current_index"])
        self.summaries = [StepSummary(**d) for d in saved["summaries"]]
        self.seconds_before = float(saved["seconds"])
