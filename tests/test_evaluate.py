"""Scoring protocols and the resumable folder evaluation (``zssr_deploy.evaluate``)."""

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from zssr_deploy.cli import main
from zssr_deploy.io import write_image

GOLDEN_JSON = Path(__file__).parent / "data" / "evaluate_bicubic.json"


def _strip_seconds(data: dict) -> dict:
    return {**data, "images": [{k: v for k, v in i.items() if k != "seconds"} for i in data["images"]]}


def test_bicubic_json_is_unchanged(tmp_path, photo, request):
    """``evaluate --method bicubic`` writes, but for the timings, the JSON saved before the CLI was reshaped
    (``pytest --update-golden`` rewrites it)."""
    d = tmp_path / "hr"
    d.mkdir()
    write_image(d / "a.png", photo)
    write_image(d / "b.png", photo[::-1, :64, :1])
    got = {}
    for protocol, scale in (("rgb", 2), ("y", 3)):
        out = tmp_path / f"{protocol}.json"
        r = CliRunner().invoke(main, ["evaluate", str(d), "--scale", str(scale), "--protocol", protocol,
                                      "--json", str(out)])
        assert r.exit_code == 0, r.output
        got[protocol] = _strip_seconds(json.loads(out.read_text()))
    if request.config.getoption("--update-golden"):
        GOLDEN_JSON.write_text(json.dumps(got, indent=2) + "\n")
        return
    assert got == json.loads(GOLDEN_JSON.read_text())
    assert np.isfinite(got["rgb"]["mean"]["psnr_y"])


def test_load_results_checks_settings(tmp_path):
    from zssr_deploy.errors import ResultsError
    from zssr_deploy.evaluate import EvalResult, ImageScore, load_results

    p = tmp_path / "z.json"
    res = EvalResult(2, "zssr", "rgb", [ImageScore("x", 30.0, 0.9, 1.0, {"iterations": [5]})],
                     {"preset": "ideal", "seed": 0})
    p.write_text(json.dumps(res.to_json()))
    back = load_results(p, 2, "zssr", "rgb", {"preset": "ideal", "seed": 0}).images
    assert back == res.images and back[0].fit == {"iterations": [5]}
    with pytest.raises(ResultsError, match="settings"):
        load_results(p, 2, "zssr", "rgb", {"preset": "gradual", "seed": 0})
    p.write_text("{")
    with pytest.raises(ResultsError, match="not a results JSON"):
        load_results(p, 2, "zssr", "rgb")


def test_folder_errors_are_named(tmp_path):
    from zssr_deploy.errors import ConfigError, ImageReadError
    from zssr_deploy.evaluate import FolderEvaluation, ResultsFile

    with pytest.raises(ImageReadError, match="not a folder"):
        FolderEvaluation(tmp_path / "nope", scale=2, method="bicubic")
    with pytest.raises(ImageReadError, match="holds no images"):
        FolderEvaluation(tmp_path, scale=2, method="bicubic")
    write_image(tmp_path / "a.png", np.zeros((40, 40, 3)))
    with pytest.raises(ConfigError, match="no image named 'b'"):
        FolderEvaluation(tmp_path, scale=2, method="bicubic", only=["b"])
    with pytest.raises(ConfigError, match="--json"):
        FolderEvaluation(tmp_path, scale=2, method="bicubic", results=ResultsFile(resume=True))


def _gradual_run(folder, json_path, on_step=None):
    """Resumable ZSSR evaluation of ``folder`` with a 6-step gradual schedule of 2 iterations a step."""
    from zssr_deploy.evaluate import FolderEvaluation, ResultsFile, ZSSRUpscaler, zssr_settings
    from zssr_deploy.trainers.config import build_config

    cfg = build_config("gradual", 2, max_iters=2, device="cpu")
    run = FolderEvaluation(folder, scale=2, method="zssr", settings=zssr_settings(cfg, "gradual", 2),
                           results=ResultsFile(path=json_path, resume=True))
    return run.run(lambda name, ckpt: ZSSRUpscaler(cfg, ckpt, on_step=on_step))


def test_resume_continues_an_image_from_its_last_gradual_step(tmp_path, photo):
    """A resumable run keeps the image in progress after each gradual step beside the JSON; interrupted in
    step 3, the next run trains steps 3-6 only and scores what an uninterrupted run scores."""
    d = tmp_path / "hr"
    d.mkdir()
    write_image(d / "a.png", photo[:48, :48])
    ref = _gradual_run(d, tmp_path / "ref.json").images[0]

    def stop_in_step_3(ev):
        if ev.phase == "start" and ev.index == 2:
            raise KeyboardInterrupt

    out = tmp_path / "r.json"
    with pytest.raises(KeyboardInterrupt):
        _gradual_run(d, out, stop_in_step_3)
    assert not out.exists() and (tmp_path / "r.a.ckpt").exists()
    trained = []
    got = _gradual_run(d, out, lambda ev: ev.phase == "start" and trained.append(ev.index)).images[0]
    assert trained == [2, 3, 4, 5]
    assert not (tmp_path / "r.a.ckpt").exists()
    assert (got.psnr_y, got.ssim_y) == (ref.psnr_y, ref.ssim_y)
    # the JSON says how each fit went, a resumed one included
    assert ref.fit["resumed_steps"] == 0 and got.fit["resumed_steps"] == 2
    assert got.fit["iterations"] == ref.fit["iterations"] == [2] * 6
    assert got.fit["fit_seconds"] >= got.seconds  # counts the steps done before the interruption
    assert json.loads(out.read_text())["images"][0]["psnr_y"] == round(got.psnr_y, 4)


def _two_images_and_fit_spy(tmp_path, photo, monkeypatch):
    """A folder of two small HR images, and the list that every ZSSR fit's config is appended to."""
    import zssr_deploy.trainers.fitting as fitting

    d = tmp_path / "hr"
    d.mkdir()
    write_image(d / "a.png", photo[:32, :32])
    write_image(d / "b.png", photo[32:64, :32])
    configs = []
    real_fit = fitting.fit
    monkeypatch.setattr(fitting, "fit", lambda lr, cfg, **k: (configs.append(cfg), real_fit(lr, cfg, **k))[1])
    return d, configs


def test_evaluate_keep_adam_moments_reaches_the_trainer_and_is_never_mixed(tmp_path, photo, monkeypatch):
    """--keep-adam-moments (the released code's behaviour) is passed to the fit and recorded in the JSON
    settings, so --resume refuses to add its images to a run made with Adam restarted per step."""
    d, configs = _two_images_and_fit_spy(tmp_path, photo, monkeypatch)

    def seen():  # each fit's fresh_optimizer_each_step, in order
        return [c.fresh_optimizer_each_step for c in configs]

    out = tmp_path / "r.json"
    args = ["evaluate", str(d), "--upscaler", "zssr", "--preset", "gradual", "--max-iters", "1", "--device", "cpu",
            "--json", str(out), "--resume"]
    r = CliRunner().invoke(main, [*args, "--only", "a", "--keep-adam-moments"])
    assert r.exit_code == 0, r.output
    assert seen() == [False]
    assert json.loads(out.read_text())["settings"]["adam"] == "kept"
    r = CliRunner().invoke(main, [*args, "--only", "b"])  # default: Adam restarted, so another run
    assert r.exit_code == 2 and "settings" in r.output and "Traceback" not in r.output
    assert seen() == [False]  # refused before fitting anything
    r = CliRunner().invoke(main, [*args, "--only", "b", "--keep-adam-moments"])
    assert r.exit_code == 0, r.output
    assert seen() == [False, False]
    assert [i["name"] for i in json.loads(out.read_text())["images"]] == ["a", "b"]
    r = CliRunner().invoke(main, ["evaluate", str(d), "--upscaler", "zssr", "--preset", "gradual", "--max-iters", "1",
                                  "--device", "cpu", "--only", "a"])
    assert r.exit_code == 0 and seen() == [False, False, True]


def test_evaluate_custom_schedule_reaches_the_trainer_and_is_recorded(tmp_path, photo, monkeypatch):
    """evaluate --steps/--bp-iters/--base-change/--father-placement fit with that schedule and keep it in the
    JSON settings, so --resume never mixes it with another schedule."""
    d, seen = _two_images_and_fit_spy(tmp_path, photo, monkeypatch)
    out = tmp_path / "r.json"
    args = ["evaluate", str(d), "--scale", "4", "--upscaler", "zssr", "--preset", "gradual", "--max-iters", "1",
            "--device", "cpu", "--json", str(out), "--resume", "--steps", "2;3;4", "--bp-iters", "1,2,3"]
    r = CliRunner().invoke(main, [*args, "--only", "a", "--base-change", "2", "--father-placement", "released"])
    assert r.exit_code == 0, r.output
    cfg = seen[-1]
    assert cfg.father_placement == "released"
    assert json.loads(out.read_text())["settings"]["father_placement"] == "released"
    assert cfg.scale_factors == ((2, 2), (3, 3), (4, 4)) and cfg.back_projection_iters == (1, 2, 3)
    assert cfg.base_change_scales == (2.0,)
    assert json.loads(out.read_text())["settings"]["base_change"] == "2"
    bad = ["evaluate", str(d), "--scale", "4", "--upscaler", "zssr", "--max-iters", "1", "--device", "cpu",
           "--json", str(tmp_path / "bad.json"), "--steps", "2;4", "--base-change", "3"]
    r = CliRunner().invoke(main, bad)  # no step x3: one line, before any image, nothing written
    assert r.exit_code == 2 and "base change x3" in r.output and "Traceback" not in r.output
    assert len(seen) == 1 and not (tmp_path / "bad.json").exists()
    r = CliRunner().invoke(main, [*args, "--only", "b", "--father-placement", "released"])  # no base change: refused
    assert r.exit_code == 2 and "settings" in r.output and len(seen) == 1
