import numpy as np
import pytest


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", help="rewrite tests/data/golden_*.npy from the current code")


@pytest.fixture
def golden(request):
    """compare(name, array, atol): check ``array`` against tests/data/golden_<name>.npy (or rewrite it)."""
    from pathlib import Path

    folder = Path(__file__).parent / "data"

    def compare(name, array, atol):
        path = folder / f"golden_{name}.npy"
        if request.config.getoption("--update-golden"):
            np.save(path, np.asarray(array, dtype=np.float32))
            return  # update mode writes; it asserts nothing
        assert path.exists(), f"{path} is missing: run pytest --update-golden once and commit it"
        np.testing.assert_allclose(array, np.load(path), atol=atol)

    return compare


@pytest.fixture(scope="session", autouse=True)
def export_cache(tmp_path_factory):
    """The tests' own export cache (never the user's ~/.cache); shared by the session, as a user's is."""
    import os

    folder = tmp_path_factory.mktemp("export-cache")
    old = os.environ.get("ZSSR_DEPLOY_CACHE")
    os.environ["ZSSR_DEPLOY_CACHE"] = str(folder)
    yield folder
    if old is None:
        os.environ.pop("ZSSR_DEPLOY_CACHE", None)
    else:
        os.environ["ZSSR_DEPLOY_CACHE"] = old


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def photo():
    """A 96x96 RGB crop of scikit-image's astronaut (ships with the package), float32 in [0, 1]."""
    from zssr_deploy.samples import load_sample

    img = load_sample("astronaut")
    return np.ascontiguousarray(img[60:156, 170:266])


# --- exported models shared by the exporter and runtime tests (exporting takes seconds each) -------------------
PIPELINE_CASES = {
    # name: (scale, kernel, bp_iters, ensemble)
    "x2": ((2.0, 2.0), "cubic", 2, True),
    "x4": ((4.0, 4.0), "cubic", 0, False),
    "x1.5": ((1.5, 1.5), "cubic", 1, True),
    "x2x1.5": ((2.0, 1.5), "cubic", 2, True),
    "kernel": ((2.0, 2.0), "gauss", 2, False),
}


def make_net(channels=3, seed=0):
    """A random network with a visible residual (weights x3), so parity tests exercise the network."""
    import torch

    from zssr_deploy.models.network import ZSSRNet

    net = ZSSRNet(channels, generator=torch.Generator().manual_seed(seed)).eval()
    with torch.no_grad():
        for conv in net.layers:
            conv.weight.mul_(3.0)
    return net


def make_pipeline(name):
    from zssr_deploy.imageops.kernels import random_gaussian_kernel, shift_kernel
    from zssr_deploy.models.pipeline import ZSSRPipeline

    scale, kernel, bp, ens = PIPELINE_CASES[name]
    if kernel == "gauss":
        kernel = shift_kernel(random_gaussian_kernel(2.0, seed=1), scale)
    return ZSSRPipeline(make_net(), scale, kernel, bp_iters=bp, ensemble=ens).eval()


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    """name -> (torch pipeline, path of its ONNX export); exported on first use."""
    from zssr_deploy.exporters import export_pipeline

    folder = tmp_path_factory.mktemp("models")
    cache = {}

    def get(name):
        if name not in cache:
            pipe = make_pipeline(name)
            path = export_pipeline(pipe, folder / f"{name}.onnx", training={"iterations": 0})
            cache[name] = (pipe, path)
        return cache[name]

    return get
