import pytest

from zssr_deploy.io import write_image

#: a fit of a few seconds: small crops, few iterations, torch inference (no export)
FAST = ["--max-iters", "20", "--crop-size", "16", "--device", "cpu", "--engine", "torch", "--threads", "1"]


@pytest.fixture
def photo_folder(tmp_path, photo):
    """in/a.png, in/b.png, in/sub/c.png (24x24 crops of the astronaut), plus a text file and a hidden image."""
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    write_image(root / "a.png", photo[:24, :24])
    write_image(root / "b.png", photo[30:54, 40:64])
    write_image(root / "sub" / "c.png", photo[60:84, 10:34])
    (root / "notes.txt").write_text("not an image")
    write_image(root / ".hidden.png", photo[:24, :24])
    return root


def outputs(folder):
    """{relative path: bytes} of a batch's output images (not the manifest)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != "zssr-manifest.jsonl"}
