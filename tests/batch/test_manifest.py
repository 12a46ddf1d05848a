import json

from zssr_deploy.batch import Manifest
from zssr_deploy.batch.manifest import file_sha256, fingerprint


def test_records_are_read_back_and_a_cut_last_line_is_ignored(tmp_path):
    m = Manifest(tmp_path)
    m.append({"image": "a.png", "status": "started"})
    m.append({"image": "a.png", "status": "done", "fingerprint": "f"})
    with open(m.path, "a") as fh:
        fh.write('{"image": "b.png", "sta')  # a kill in the middle of a line
    again = Manifest(tmp_path)
    assert again.last == {"a.png": {"image": "a.png", "status": "done", "fingerprint": "f"}}
    assert again.ours("a.png") and not again.ours("b.png")


def test_finished_needs_same_settings_and_an_unchanged_output(tmp_path):
    out = tmp_path / "a.png"
    out.write_bytes(b"image bytes")
    m = Manifest(tmp_path)
    m.append({"image": "a.png", "status": "done", "fingerprint": "f1", "sha256": file_sha256(out)})
    assert m.finished("a.png", "f1", out)
    assert not m.finished("a.png", "f2", out)  # other settings
    out.write_bytes(b"changed")
    assert not m.finished("a.png", "f1", out)  # output replaced by someone
    out.unlink()
    assert not m.finished("a.png", "f1", out)


def test_fingerprint_follows_every_setting():
    a = {"config": {"max_iters": 10, "seed": 0}, "kernel": None}
    assert fingerprint(a) == fingerprint(json.loads(json.dumps(a)))
    assert fingerprint(a) != fingerprint({**a, "config": {"max_iters": 10, "seed": 1}})
