"""Results of ``evaluate`` (``zssr_deploy.results``): a run against a baseline run, image by image."""

import json

import pytest
from click.testing import CliRunner

from zssr_deploy.cli import main
from zssr_deploy.errors import ConfigError, ResultsError
from zssr_deploy.io import write_image
from zssr_deploy.results import EvalResult, ImageScore, compare_runs, read_results


def _run(scale: int, scores: dict[str, float]) -> EvalResult:
    return EvalResult(scale, "zssr", "rgb", [ImageScore(n, p, 0.9, 1.0) for n, p in scores.items()])


def test_a_run_against_its_baseline_counts_gains_and_losses():
    """Per image: gained, lost or the same (within 0.005 dB); images the baseline lacks are named apart; the
    worst image is the largest loss."""
    c = compare_runs(_run(2, {"a": 30.0, "b": 28.0, "c": 31.0, "d": 25.0, "e": 27.003}),
                     _run(2, {"a": 29.0, "b": 28.5, "c": 32.5, "e": 27.0}))
    assert (c.gained, c.lost, c.same, c.missing) == (["a"], ["b", "c"], ["e"], ["d"])
    assert c.worst == ("c", -1.5) and c.differences["a"] == 1.0


def test_runs_of_another_scale_are_not_compared():
    with pytest.raises(ConfigError, match="x4"):
        compare_runs(_run(2, {"a": 30.0}), _run(4, {"a": 29.0}))


def test_evaluate_ends_with_the_baseline_count_and_checks_it_first(tmp_path, photo):
    """``evaluate --baseline`` (a results JSON of another run of the same images): the closing line counts the
    images gained and lost; a baseline of another scale, or not a results file, fails before any image (no JSON)."""
    d = tmp_path / "hr"
    d.mkdir()
    write_image(d / "a.png", photo)
    write_image(d / "b.png", photo[::-1])
    first = tmp_path / "first.json"
    assert CliRunner().invoke(main, ["evaluate", str(d), "--json", str(first)]).exit_code == 0
    base = json.loads(first.read_text())
    base["images"][0]["psnr_y"] -= 1.0  # the baseline did worse on a, better on b
    base["images"][1]["psnr_y"] += 0.25
    (tmp_path / "base.json").write_text(json.dumps(base))
    r = CliRunner().invoke(main, ["evaluate", str(d), "--baseline", str(tmp_path / "base.json")])
    assert r.exit_code == 0, r.output
    assert r.output.strip().splitlines()[-1] == (f"against {tmp_path / 'base.json'}: 1 gained, 1 lost, 0 the same; "
                                                 "worst b -0.25 dB")
    for bad, why in ((dict(base, scale=3), "x3"), ({"images": 1}, "not a results JSON")):
        (tmp_path / "bad.json").write_text(json.dumps(bad))
        r = CliRunner().invoke(main, ["evaluate", str(d), "--baseline", str(tmp_path / "bad.json"), "--json",
                                      str(tmp_path / "out.json")])
        assert r.exit_code == 2 and why in r.output and not (tmp_path / "out.json").exists()
    with pytest.raises(ResultsError):
        read_results(tmp_path / "missing.json")


def test_evaluate_kernel_estimate_ends_with_how_often_the_estimate_was_used(tmp_path, photo):
    """``evaluate --kernel estimate``: a closing line counts the images fitted with their estimate (the span of
    its confidence, how many had their width capped) and those that kept the bicubic assumption (here a smooth
    ramp); with ``--baseline`` of the ``--kernel none`` run, the gains and losses against the assumption follow."""
    import numpy as np

    d = tmp_path / "hr"
    d.mkdir()
    write_image(d / "a.png", photo)
    y, x = np.mgrid[:96, :96] / 95.0
    write_image(d / "ramp.png", np.stack([0.2 + 0.6 * x, 0.3 + 0.4 * y, 0.5 + 0.2 * x * y], -1))
    fast = ["evaluate", str(d), "--upscaler", "zssr", "--max-iters", "3", "--threads", "1", "--device", "cpu"]
    r = CliRunner().invoke(main, [*fast, "--json", str(tmp_path / "none.json")])
    assert r.exit_code == 0 and "kernel estimate" not in r.output, r.output
    fast += ["--preset", "given-kernel"]
    r = CliRunner().invoke(main, [*fast, "--kernel", "estimate", "--json", str(tmp_path / "est.json")])
    assert r.exit_code == 0, r.output
    found = {i["name"]: i["fit"]["kernel"] for i in json.loads((tmp_path / "est.json").read_text())["images"]}
    assert found["a"]["source"] == "estimated" and found["ramp"]["source"] == "bicubic (estimate rejected)"
    c, capped = found["a"]["confidence"], found["a"]["gaussian"]["cap"] < 1.0
    assert r.output.strip().splitlines()[-1] == (
        f"kernel estimate: used on 1 of 2 image(s) (confidence {c:.2f}-{c:.2f}){', width capped on 1' if capped else ''}, "
        "the bicubic assumption kept on 1; add --baseline RESULTS.json (a --kernel none run) for gains and losses against it")
    r = CliRunner().invoke(main, [*fast, "--kernel", "estimate", "--max-kernel-variance", "1.0"])  # under a's estimate
    assert r.exit_code == 0 and "(confidence" in r.output and ", width capped on 1, the bicubic" in r.output, r.output
    r = CliRunner().invoke(main, [*fast, "--kernel", "estimate", "--baseline", str(tmp_path / "none.json")])
    assert r.exit_code == 0, r.output
    last = r.output.strip().splitlines()
    assert last[-2].endswith("the bicubic assumption kept on 1") and last[-1].startswith(f"against {tmp_path / 'none.json'}: ")
