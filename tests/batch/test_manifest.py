import json

from zssr_deploy.batch import Manifest
from zssr_deploy.batch.manifest import BatchRecord, file_sha256, fingerprint
from zssr_deploy.blind.config import KernelFinding


def test_records_are_read_back_and_a_cut_last_line_is_ignored(tmp_path):
    m = Manifest(tmp_path)
    m.append(BatchRecord(image="a.png", status="started"))
    m.append(BatchRecord(image="a.png", status="done", fingerprint="f"))
    with open(m.path, "a") as fh:
        fh.write('{"image": "b.png", "sta')  # a kill in the middle of a line
    again = Manifest(tmp_path)
    assert again.last == {"a.png": BatchRecord(image="a.png", status="done", fingerprint="f")}
    assert again.ours("a.png") and not again.ours("b.png")


def test_finished_needs_same_settings_and_an_unchanged_output(tmp_path):
    out = tmp_path / "a.png"
    out.write_bytes(b"image bytes")
    m = Manifest(tmp_path)
    m.append(BatchRecord(image="a.png", status="done", fingerprint="f1", sha256=file_sha256(out)))
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


def test_a_record_reads_back_as_written_and_keeps_its_json_shape(tmp_path):
    """Typed records, the same JSON lines as before: a started line has no error field, a done line keeps its
    kernel finding as an object, keys of other versions are ignored."""
    m = Manifest(tmp_path)
    m.append(BatchRecord(image="a.png", status="started", fingerprint="f"))
    done = BatchRecord(image="a.png", status="done", fingerprint="f", output="a.png", iterations=[30], psnr=30.5,
                       kernel=KernelFinding(source="estimated", method="recurrence", agreement_db=99.0, detail=11.2,
                                            seconds=1.0, gaussian={"variances": [2.0, 1.0], "angle": 30.0}))
    m.append(done)
    lines = [json.loads(line) for line in m.path.read_text().splitlines()]
    assert lines[0] == {"image": "a.png", "status": "started", "fingerprint": "f"}
    assert lines[1]["kernel"] == {"source": "estimated", "method": "recurrence", "agreement_db": 99.0, "detail": 11.2,
                                  "reason": "", "seconds": 1.0, "gaussian": {"variances": [2.0, 1.0], "angle": 30.0}}
    assert "ssim" not in lines[1] and lines[1]["error"] == ""
    with open(m.path, "a") as fh:
        fh.write(json.dumps({**lines[1], "image": "b.png", "from_a_newer_version": 1}) + "\n")
    again = Manifest(tmp_path)
    assert again.last["a.png"] == done and again.last["b.png"].kernel == done.kernel
