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
