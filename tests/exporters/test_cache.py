"""Export once per graph shape: a cached export (weights written into the kept graph) runs exactly as a fresh
export of the same fit, and the cache is rebuilt rather than trusted when damaged."""

import numpy as np
import onnx

from zssr_deploy.exporters import cache_dir, export_pipeline, export_pipeline_cached, graph_key
from zssr_deploy.runtime import ZSSRModel

from ..conftest import make_net, make_pipeline


def test_a_cached_export_runs_as_a_fresh_export(tmp_path, monkeypatch, rng):
    monkeypatch.setenv("ZSSR_DEPLOY_CACHE", str(tmp_path / "cache"))
    first, served = export_pipeline_cached(make_pipeline("x2"), tmp_path / "first.onnx")
    assert not served and len(list((tmp_path / "cache").glob("pipeline-*.onnx"))) == 1
    other = make_pipeline("x2")
    other.net = make_net(seed=7)  # another fit: same structure, other weights
    cached, served = export_pipeline_cached(other, tmp_path / "cached.onnx", training={"iterations": 7})
    assert served
    export_pipeline(other, tmp_path / "fresh.onnx")
    img = rng.random((29, 34, 3)).astype(np.float32)
    out = {name: ZSSRModel(tmp_path / f"{name}.onnx", "cpu").run(img) for name in ("first", "cached", "fresh")}
    np.testing.assert_array_equal(out["cached"], out["fresh"])  # exactly: the same graph, the same weights
    assert np.abs(out["cached"] - out["first"]).max() > 1e-3  # the new weights are really in it
    assert ZSSRModel(cached, "cpu").metadata.training == {"iterations": 7}
    onnx.checker.check_model(onnx.load(str(cached)), full_check=True)


def test_the_key_follows_the_structure_not_the_weights():
    a, b = make_pipeline("x2"), make_pipeline("x2")
    b.net = make_net(seed=3)
    assert graph_key(a) == graph_key(b)
    assert len({graph_key(make_pipeline(n)) for n in ("x2", "x4", "x1.5", "kernel")}) == 4
    assert graph_key(a) != graph_key(a, static_shape=(64, 64))


def test_a_damaged_entry_is_rebuilt_and_off_means_off(tmp_path, monkeypatch):
    monkeypatch.setenv("ZSSR_DEPLOY_CACHE", str(tmp_path / "cache"))
    pipe = make_pipeline("x4")
    export_pipeline_cached(pipe, tmp_path / "a.onnx")
    entry = next((tmp_path / "cache").glob("pipeline-*.onnx"))
    entry.write_bytes(b"truncated")
    _, served = export_pipeline_cached(pipe, tmp_path / "b.onnx")
    assert not served and ZSSRModel(tmp_path / "b.onnx", "cpu").metadata.kind == "pipeline"
    assert entry.stat().st_size > 1000  # rewritten whole
    monkeypatch.setenv("ZSSR_DEPLOY_CACHE", "off")
    assert cache_dir() is None
    assert export_pipeline_cached(pipe, tmp_path / "c.onnx")[1] is False
