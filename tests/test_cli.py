import json

import numpy as np
import pytest
from click.testing import CliRunner

from zssr_deploy.cli import main
from zssr_deploy.io import write_image


def _folder(tmp_path, photo):
    d = tmp_path / "hr"
    d.mkdir()
    write_image(d / "a.png", photo)
    write_image(d / "b.png", photo[::-1, :64])
    return d


def test_version_and_info():
    r = CliRunner().invoke(main, ["--version"])
    assert r.exit_code == 0 and "zssr-deploy, version" in r.output
    r = CliRunner().invoke(main, ["info"])
    assert r.exit_code == 0 and "onnxruntime providers" in r.output and "torch" in r.output


def test_evaluate_bicubic_json_shape(tmp_path, photo):
    d = _folder(tmp_path, photo)
    out = tmp_path / "r.json"
    r = CliRunner().invoke(main, ["evaluate", str(d), "--scale", "2", "--json", str(out)])
    assert r.exit_code == 0, r.output
    data = json.loads(out.read_text())
    assert set(data) == {"scale", "method", "protocol", "mean", "images"}
    assert data["scale"] == 2 and data["method"] == "bicubic" and data["protocol"] == "rgb"
    assert set(data["mean"]) == {"psnr_y", "ssim_y"}
    assert [i["name"] for i in data["images"]] == ["a", "b"]
    assert set(data["images"][0]) == {"name", "psnr_y", "ssim_y", "seconds"}
    assert 20 < data["mean"]["psnr_y"] < 50
    # refuses to overwrite the JSON without --overwrite
    r = CliRunner().invoke(main, ["evaluate", str(d), "--scale", "2", "--json", str(out)])
    assert r.exit_code == 2 and "already exists" in r.output


def test_evaluate_y_protocol_limit(tmp_path, photo):
    d = _folder(tmp_path, photo)
    r = CliRunner().invoke(main, ["evaluate", str(d), "--scale", "3", "--protocol", "y", "--limit", "1"])
    assert r.exit_code == 0
    assert "a " in r.output and "\nb " not in r.output


def test_bad_image_one_line_exit_2(tmp_path, photo):
    d = _folder(tmp_path, photo)
    write_image(d / "c.png", np.ones((1, 1, 3)))
    out = tmp_path / "r.json"
    r = CliRunner().invoke(main, ["evaluate", str(d), "--json", str(out)])
    assert r.exit_code == 2
    err_lines = [line for line in r.output.splitlines() if line.startswith("zssr-deploy: error")]
    assert len(err_lines) == 1 and "too small" in err_lines[0]
    assert "Traceback" not in r.output
    assert not out.exists()


def test_truncated_image_in_folder(tmp_path, photo):
    d = _folder(tmp_path, photo)
    (d / "c.png").write_bytes((d / "a.png").read_bytes()[:100])
    r = CliRunner().invoke(main, ["evaluate", str(d)])
    assert r.exit_code == 2 and "not a readable image" in r.output


def test_missing_folder():
    r = CliRunner().invoke(main, ["evaluate", "/nonexistent/folder"])
    assert r.exit_code == 2 and "not a folder" in r.output


def test_sample_command(tmp_path):
    out = tmp_path / "s.png"
    r = CliRunner().invoke(main, ["sample", "astronaut", "--size", "32", "-o", str(out)])
    assert r.exit_code == 0 and out.exists()
    r = CliRunner().invoke(main, ["sample", "nope", "-o", str(tmp_path / "n.png")])
    assert r.exit_code == 2 and "unknown sample" in r.output


def test_evaluate_only_names_images(tmp_path, photo):
    d = _folder(tmp_path, photo)
    r = CliRunner().invoke(main, ["evaluate", str(d), "--only", "b"])
    assert r.exit_code == 0, r.output
    assert "\nb " in "\n" + r.output and "\na " not in "\n" + r.output
    r = CliRunner().invoke(main, ["evaluate", str(d), "--only", "zebra"])
    assert r.exit_code == 2 and "no image named 'zebra'" in r.output and "Traceback" not in r.output


def test_evaluate_resume_keeps_earlier_results_and_scores_the_rest(tmp_path, photo):
    d = _folder(tmp_path, photo)
    out = tmp_path / "r.json"
    r = CliRunner().invoke(main, ["evaluate", str(d), "--only", "a", "--json", str(out), "--resume"])
    assert r.exit_code == 0, r.output
    first = json.loads(out.read_text())
    assert [i["name"] for i in first["images"]] == ["a"]
    # mark the stored score: a resumed run must keep it, not recompute it
    first["images"][0]["psnr_y"] = 99.0
    out.write_text(json.dumps(first))
    r = CliRunner().invoke(main, ["evaluate", str(d), "--json", str(out), "--resume"])
    assert r.exit_code == 0, r.output
    assert "1 image(s) already scored, 1 to go" in r.output
    data = json.loads(out.read_text())
    assert [i["name"] for i in data["images"]] == ["a", "b"]
    assert data["images"][0]["psnr_y"] == 99.0
    assert data["mean"]["psnr_y"] == round((99.0 + data["images"][1]["psnr_y"]) / 2, 4)
    assert set(data) == {"scale", "method", "protocol", "mean", "images"}  # bicubic: no settings key


def test_evaluate_resume_refuses_other_runs_and_bad_files(tmp_path, photo):
    d = _folder(tmp_path, photo)
    out = tmp_path / "r.json"
    assert CliRunner().invoke(main, ["evaluate", str(d), "--only", "a", "--json", str(out)]).exit_code == 0
    before = out.read_text()
    r = CliRunner().invoke(main, ["evaluate", str(d), "--scale", "3", "--json", str(out), "--resume"])
    assert r.exit_code == 2 and "holds results for scale 2" in r.output
    r = CliRunner().invoke(main, ["evaluate", str(d), "--json", str(out), "--resume", "--overwrite"])
    assert r.exit_code == 2 and "--resume" in r.output
    assert out.read_text() == before
    r = CliRunner().invoke(main, ["evaluate", str(d), "--resume"])
    assert r.exit_code == 2 and "--json" in r.output
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    r = CliRunner().invoke(main, ["evaluate", str(d), "--json", str(bad), "--resume"])
    assert r.exit_code == 2 and "not a results JSON" in r.output and "Traceback" not in r.output
    assert bad.read_text() == "{not json"


def test_load_results_checks_settings(tmp_path):
    from zssr_deploy.errors import ZSSRError
    from zssr_deploy.evaluate import EvalResult, ImageScore, load_results

    p = tmp_path / "z.json"
    res = EvalResult(2, "zssr", "rgb", [ImageScore("x", 30.0, 0.9, 1.0, {"iterations": [5]})],
                     {"preset": "ideal", "seed": 0})
    p.write_text(json.dumps(res.to_json()))
    back = load_results(p, 2, "zssr", "rgb", {"preset": "ideal", "seed": 0}).images
    assert back == res.images and back[0].fit == {"iterations": [5]}
    with pytest.raises(ZSSRError, match="settings"):
        load_results(p, 2, "zssr", "rgb", {"preset": "gradual", "seed": 0})


def test_evaluate_resume_continues_an_image_from_its_last_gradual_step(tmp_path, photo, monkeypatch):
    """With --resume, ZSSR keeps the image in progress after each gradual step beside the JSON."""
    import zssr_deploy.trainers.zssr as zssr_mod

    d = tmp_path / "hr"
    d.mkdir()
    write_image(d / "a.png", photo[:48, :48])
    args = ["evaluate", str(d), "--method", "zssr", "--preset", "gradual", "--max-iters", "2", "--device", "cpu"]
    assert CliRunner().invoke(main, [*args, "--json", str(tmp_path / "ref.json")]).exit_code == 0

    calls = []
    real = zssr_mod._Trainer.train_step

    def stop_in_step_3(self, *a, **k):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(self, *a, **k)

    out = tmp_path / "r.json"
    with monkeypatch.context() as m:
        m.setattr(zssr_mod._Trainer, "train_step", stop_in_step_3)
        r = CliRunner().invoke(main, [*args, "--json", str(out), "--resume"])
    assert r.exit_code != 0 and not out.exists()
    assert (tmp_path / "r.a.ckpt").exists()
    calls.clear()
    with monkeypatch.context() as m:
        m.setattr(zssr_mod._Trainer, "train_step", lambda self, *a, **k: (calls.append(1), real(self, *a, **k))[1])
        r = CliRunner().invoke(main, [*args, "--json", str(out), "--resume"])
    assert r.exit_code == 0, r.output
    assert len(calls) == 4  # steps 3-6 of the 6-step schedule
    assert not (tmp_path / "r.a.ckpt").exists()
    ref = json.loads((tmp_path / "ref.json").read_text())["images"][0]
    got = json.loads(out.read_text())["images"][0]
    assert (got["psnr_y"], got["ssim_y"]) == (ref["psnr_y"], ref["ssim_y"])
    # the JSON says how each fit went, a resumed one included
    assert ref["fit"]["resumed_steps"] == 0 and got["fit"]["resumed_steps"] == 2
    assert got["fit"]["iterations"] == ref["fit"]["iterations"] == [2] * 6
    assert got["fit"]["fit_seconds"] >= got["seconds"]  # counts the steps done before the interruption


def _two_images_and_fit_spy(tmp_path, photo, monkeypatch):
    """A folder of two small HR images, and the list that every ZSSR fit's config is appended to."""
    import zssr_deploy.trainers.zssr as zssr_mod

    d = tmp_path / "hr"
    d.mkdir()
    write_image(d / "a.png", photo[:32, :32])
    write_image(d / "b.png", photo[32:64, :32])
    configs = []
    real_fit = zssr_mod.fit
    monkeypatch.setattr(zssr_mod, "fit", lambda lr, cfg, **k: (configs.append(cfg), real_fit(lr, cfg, **k))[1])
    return d, configs


def test_evaluate_keep_adam_moments_reaches_the_trainer_and_is_never_mixed(tmp_path, photo, monkeypatch):
    """--keep-adam-moments (the released code's behaviour) is passed to the fit and recorded in the JSON
    settings, so --resume refuses to add its images to a run made with Adam restarted per step."""
    d, configs = _two_images_and_fit_spy(tmp_path, photo, monkeypatch)

    def seen():  # each fit's fresh_optimizer_each_step, in order
        return [c.fresh_optimizer_each_step for c in configs]

    out = tmp_path / "r.json"
    args = ["evaluate", str(d), "--method", "zssr", "--preset", "gradual", "--max-iters", "1", "--device", "cpu",
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
    r = CliRunner().invoke(main, ["evaluate", str(d), "--method", "zssr", "--preset", "gradual", "--max-iters", "1",
                                  "--device", "cpu", "--only", "a"])
    assert r.exit_code == 0 and seen() == [False, False, True]


def test_evaluate_custom_schedule_reaches_the_trainer_and_is_recorded(tmp_path, photo, monkeypatch):
    """evaluate --steps/--bp-iters/--base-change/--father-placement fit with that schedule and keep it in the
    JSON settings, so --resume never mixes it with another schedule."""
    d, seen = _two_images_and_fit_spy(tmp_path, photo, monkeypatch)
    out = tmp_path / "r.json"
    args = ["evaluate", str(d), "--scale", "4", "--method", "zssr", "--preset", "gradual", "--max-iters", "1",
            "--device", "cpu", "--json", str(out), "--resume", "--steps", "2;3;4", "--bp-iters", "1,2,3"]
    r = CliRunner().invoke(main, [*args, "--only", "a", "--base-change", "2", "--father-placement", "released"])
    assert r.exit_code == 0, r.output
    cfg = seen[-1]
    assert cfg.father_placement == "released"
    assert json.loads(out.read_text())["settings"]["father_placement"] == "released"
    assert cfg.scale_factors == ((2, 2), (3, 3), (4, 4)) and cfg.back_projection_iters == (1, 2, 3)
    assert cfg.base_change_scales == (2.0,)
    assert json.loads(out.read_text())["settings"]["base_change"] == "2"
    bad = ["evaluate", str(d), "--scale", "4", "--method", "zssr", "--max-iters", "1", "--device", "cpu",
           "--json", str(tmp_path / "bad.json"), "--steps", "2;4", "--base-change", "3"]
    r = CliRunner().invoke(main, bad)  # no step x3: one line, before any image, nothing written
    assert r.exit_code == 2 and "base change x3" in r.output and "Traceback" not in r.output
    assert len(seen) == 1 and not (tmp_path / "bad.json").exists()
    r = CliRunner().invoke(main, [*args, "--only", "b", "--father-placement", "released"])  # no base change: refused
    assert r.exit_code == 2 and "settings" in r.output and len(seen) == 1
