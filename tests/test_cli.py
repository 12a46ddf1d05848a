import json
import re

import numpy as np
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
    # what --precision auto picks here, said with its reason, and where exported graphs are kept
    assert re.search(r"--precision auto: (bf16|fp32) on (cpu|cuda) \((native bf16 units|no native bf16 units)\)", r.output)
    assert "export cache: " in r.output


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


def test_fit_and_run_help_is_grouped_and_every_option_has_a_line():
    """Headings in the order a user decides (input/output, kernel, training, device, inference, batch); every
    option under one of them with a help line; --kernel's three meanings told apart."""
    from click.testing import CliRunner

    from zssr_deploy.cli import main
    from zssr_deploy.cli.fit_and_run import fit_and_run

    text = CliRunner().invoke(main, ["fit-and-run", "--help"], terminal_width=200).output
    headings = [line[:-1] for line in text.splitlines() if line and not line.startswith(" ") and line.endswith(":")]
    assert headings == ["Input and output", "Kernel", "Training", "Device", "Inference",
                        "Batch (a folder or glob INPUT) and cluster", "Other"]
    grouped = {n for _, names in fit_and_run.sections for n in names}
    for p in fit_and_run.params:
        if isinstance(p, __import__("click").Option) and p.name not in ("quiet", "verbose"):
            assert p.name in grouped and p.help, p.name
    assert "FILE: a known kernel" in text and "'estimate': estimated from INPUT" in text and "omitted: MATLAB" in text
