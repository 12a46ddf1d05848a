"""Inference that never hands a provider a tensor beyond its limits: the tile planner, the split under a small
artificial element limit, the largest-tensor metadata, and a GPU index that does not exist."""

import numpy as np
import pytest
from click.testing import CliRunner

from zssr_deploy.cli import main
from zssr_deploy.errors import ProviderError
from zssr_deploy.gpus import check_gpu_index, list_gpus
from zssr_deploy.io import write_image
from zssr_deploy.runtime import ZSSRModel
from zssr_deploy.runtime.tiling import LIVE_TENSORS, MAX_TENSOR_ELEMENTS, tile_side

GIB = 1024**3


def test_the_planner_keeps_the_largest_tensor_under_cudnns_limit():
    """The H200 case of the GPU note: 4 members x 64 channels at x2. 1024^2 LR fits whole (1.07e9 elements); 2048^2
    (4.3e9) does not, and the planned tile's region (tile + 2 halos) stays under 2^31 elements."""
    per = 4 * 64
    assert tile_side((1024, 1024), per, (2.0, 2.0), 10) is None
    side = tile_side((2048, 2048), per, (2.0, 2.0), 10)
    assert side is not None and side % 64 == 0
    assert (side + 20) ** 2 * per * 4 <= MAX_TENSOR_ELEMENTS < (side + 64 + 20) ** 2 * per * 4
    assert side == 1408  # sqrt(2^31 / 1024) = 1448 LR pixels, less the halos, down to a multiple of 64


def test_the_planner_fits_the_free_memory():
    """With the provider's free memory given, LIVE_TENSORS float32 tensors of the region must fit in it: 1 GiB
    free at 256 elements a pixel x4 (x2 scale) takes tiles of at most sqrt(1 GiB / 16 / 1024) = 256 LR pixels less
    the halos; plenty of memory leaves the element limit in charge; a tiny budget still gets one granule."""
    side = tile_side((4000, 3000), 256, (2.0, 2.0), 8, memory_bytes=GIB)
    assert side == 192 and (side + 16) ** 2 * 256 * 4 * 4 * LIVE_TENSORS <= GIB
    assert tile_side((4000, 3000), 256, (2.0, 2.0), 8, memory_bytes=1000 * GIB) == tile_side((4000, 3000), 256, (2.0, 2.0), 8)
    assert tile_side((4000, 3000), 256, (2.0, 2.0), 8, memory_bytes=1024) == 64
    assert tile_side((100, 80), 256, (2.0, 2.0), 8, memory_bytes=GIB) is None  # small images run whole


@pytest.mark.parametrize("name", ["x2", "x2x1.5"])
def test_a_small_element_limit_splits_the_image_into_tiles_with_the_same_pixels(exported, name, rng):
    """Under an artificial limit the whole-image call is tiled (as a 2048^2 image is on a GPU) and gives the
    pixels of the one-pass run within 1e-6; the export records its largest tensor per output pixel."""
    pipe, path = exported(name)
    model = ZSSRModel(path, provider="cpu")
    members = max(sum(1 for k in pipe.transforms if k % 2 == p) for p in (0, 1))
    assert model.metadata.tensor_elements == members * 64 == model.metadata.largest_tensor
    img = rng.random((70, 61, 3)).astype(np.float32)
    whole = model.run(img)
    assert model.auto_tile(img.shape[:2]) is None
    model.max_elements = 40 * 40 * model.metadata.largest_tensor * 4  # a 20-pixel tile with its halos, about
    side = model.auto_tile(img.shape[:2])
    assert side == 64  # the planner's smallest tile (one granule): still several tiles of a 70x61 image
    model.max_elements = 30 * 30 * model.metadata.largest_tensor * 4
    split = model.run(img)
    assert np.abs(split - whole).max() <= 1e-6


def test_older_models_get_the_most_their_tensor_can_be(exported):
    from dataclasses import replace

    from zssr_deploy.runtime.metadata import ModelMetadata

    meta = ZSSRModel(exported("x2")[1], provider="cpu").metadata
    old = ModelMetadata.from_props({k: v for k, v in meta.to_props().items() if k != "zssr.tensor_elements"})
    assert old.tensor_elements is None and old.largest_tensor == len(meta.ensemble) * 64
    assert ModelMetadata.from_props(replace(meta, tensor_elements=123).to_props()).tensor_elements == 123


def test_a_gpu_index_that_does_not_exist_is_named_before_any_work(exported, tmp_path, photo):
    """The error names the GPUs there are; ``run --gpu N`` and ``fit-and-run --gpu N`` say it in one line, exit 2,
    before anything is written or fitted."""
    with pytest.raises(ProviderError, match=r"GPU 2 does not exist: this machine has 2: 0 NVIDIA H200, 1 NVIDIA H100"):
        check_gpu_index(2, ("NVIDIA H200", "NVIDIA H100"))
    with pytest.raises(ProviderError, match="GPU 0 does not exist: this machine has no NVIDIA GPU"):
        check_gpu_index(0, ())
    check_gpu_index(1, ("a", "b"))
    missing = max(1, len(list_gpus()))  # an index this machine lacks (0 is the default: never checked alone)
    write_image(tmp_path / "in.png", photo[:30, :30])
    r = CliRunner().invoke(main, ["run", str(exported("x2")[1]), str(tmp_path / "in.png"), "-o", str(tmp_path / "o.png"),
                                  "--gpu", str(missing)])
    assert r.exit_code == 2 and f"GPU {missing} does not exist" in r.output and len(r.output.strip().splitlines()) == 1
    assert not (tmp_path / "o.png").exists()
    r = CliRunner().invoke(main, ["fit-and-run", str(tmp_path / "in.png"), "-o", str(tmp_path / "o.png"),
                                  "--gpu", str(missing), "--max-iters", "2"])
    assert r.exit_code == 2 and f"GPU {missing}" in r.output and len(r.output.strip().splitlines()) == 1, r.output
    assert not (tmp_path / "o.png").exists()


def test_the_cudnn_search_is_a_checked_choice(exported):
    _, path = exported("x2")
    with pytest.raises(ProviderError, match="conv_search must be one of EXHAUSTIVE, HEURISTIC, DEFAULT"):
        ZSSRModel(path, provider="cpu", conv_search="fastest")
    assert ZSSRModel(path, provider="cpu", conv_search="HEURISTIC").providers == ["CPUExecutionProvider"]


def test_which_providers_run_on_a_gpu(monkeypatch):
    from zssr_deploy.runtime import session

    assert session.runs_on_gpu("cuda") and session.runs_on_gpu("tensorrt") and not session.runs_on_gpu("cpu")
    monkeypatch.setattr(session, "available_providers", lambda: ["CPUExecutionProvider"])
    assert not session.runs_on_gpu("auto")
    monkeypatch.setattr(session, "available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert session.runs_on_gpu("auto")
