import os
import struct

import cv2
import numpy as np
import pytest

from zssr_deploy.errors import ImageReadError, ImageWriteError
from zssr_deploy.io import read_image, write_image


def test_rgb_8bit_round_trip(tmp_path, rng):
    px = np.round(rng.random((7, 9, 3)) * 255) / 255
    write_image(tmp_path / "a.png", px)
    img = read_image(tmp_path / "a.png")
    assert img.bit_depth == 8 and img.alpha is None and img.pixels.dtype == np.float32
    np.testing.assert_allclose(img.pixels, px, atol=1e-7)


def test_16bit_round_trip(tmp_path, rng):
    px = np.round(rng.random((6, 5, 3)) * 65535) / 65535
    write_image(tmp_path / "a.png", px, bit_depth=16)
    img = read_image(tmp_path / "a.png")
    assert img.bit_depth == 16
    np.testing.assert_allclose(img.pixels, px, atol=1e-7)
    write_image(tmp_path / "b.tif", px, bit_depth=16)
    np.testing.assert_allclose(read_image(tmp_path / "b.tif").pixels, px, atol=1e-7)


def test_rgb_order(tmp_path):
    px = np.zeros((2, 2, 3))
    px[..., 0] = 1.0  # red
    write_image(tmp_path / "r.png", px)
    assert cv2.imread(str(tmp_path / "r.png"))[0, 0].tolist() == [0, 0, 255]  # OpenCV stores BGR
    np.testing.assert_array_equal(read_image(tmp_path / "r.png").pixels[0, 0], [1.0, 0.0, 0.0])


def test_grayscale_stays_grayscale(tmp_path, rng):
    px = np.round(rng.random((5, 8, 1)) * 255) / 255
    write_image(tmp_path / "g.png", px)
    img = read_image(tmp_path / "g.png")
    assert img.pixels.shape == (5, 8, 1) and img.is_gray
    np.testing.assert_allclose(img.pixels, px, atol=1e-7)


def test_rgba_alpha_kept_aside(tmp_path, rng):
    px = np.round(rng.random((4, 6, 3)) * 255) / 255
    alpha = np.round(rng.random((4, 6)) * 255) / 255
    write_image(tmp_path / "a.png", px, alpha=alpha)
    img = read_image(tmp_path / "a.png")
    assert img.pixels.shape == (4, 6, 3)
    np.testing.assert_allclose(img.pixels, px, atol=1e-7)
    np.testing.assert_allclose(img.alpha, alpha, atol=1e-7)


def _with_exif_orientation(jpeg: bytes, orientation: int) -> bytes:
    ifd = struct.pack("<H", 1) + struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack("<I", 0)
    tiff = b"II*\x00" + struct.pack("<I", 8) + ifd
    payload = b"Exif\x00\x00" + tiff
    app1 = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return jpeg[:2] + app1 + jpeg[2:]


def test_exif_orientation_applied(tmp_path):
    px = np.zeros((16, 32, 3), np.uint8)
    px[:8, :8] = 255  # a white block in the top-left corner
    ok, buf = cv2.imencode(".jpg", px, [cv2.IMWRITE_JPEG_QUALITY, 100])
    assert ok
    (tmp_path / "o.jpg").write_bytes(_with_exif_orientation(buf.tobytes(), 6))  # 6: rotate 90 degrees clockwise
    img = read_image(tmp_path / "o.jpg")
    assert img.pixels.shape == (32, 16, 3)
    assert img.pixels[:8, -8:].mean() > 0.9  # top-left went to top-right
    assert img.pixels[:8, :8].mean() < 0.1


def test_no_overwrite_unless_asked(tmp_path):
    f = tmp_path / "x.png"
    write_image(f, np.zeros((2, 2, 3)))
    before = f.read_bytes()
    with pytest.raises(ImageWriteError, match="already exists"):
        write_image(f, np.ones((2, 2, 3)))
    assert f.read_bytes() == before
    write_image(f, np.ones((2, 2, 3)), overwrite=True)
    assert read_image(f).pixels.min() == 1.0
    assert [p.name for p in tmp_path.iterdir()] == ["x.png"]  # no temporary files left
    umask = os.umask(0)
    os.umask(umask)
    assert f.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600


def test_write_errors(tmp_path):
    with pytest.raises(ImageWriteError, match="does not exist"):
        write_image(tmp_path / "missing" / "x.png", np.zeros((2, 2, 3)))
    with pytest.raises(ImageWriteError, match="extension"):
        write_image(tmp_path / "x.gifx", np.zeros((2, 2, 3)))


def test_bad_inputs(tmp_path):
    with pytest.raises(ImageReadError, match="does not exist"):
        read_image(tmp_path / "none.png")
    (tmp_path / "zero.png").write_bytes(b"")
    with pytest.raises(ImageReadError, match="empty"):
        read_image(tmp_path / "zero.png")
    (tmp_path / "text.png").write_text("hello, not an image\n")
    with pytest.raises(ImageReadError, match="not a readable image"):
        read_image(tmp_path / "text.png")
    ok, buf = cv2.imencode(".png", np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    (tmp_path / "trunc.png").write_bytes(buf.tobytes()[: len(buf) // 2])
    with pytest.raises(ImageReadError, match="not a readable image"):
        read_image(tmp_path / "trunc.png")


def test_one_pixel_image_reads(tmp_path):
    write_image(tmp_path / "1.png", np.ones((1, 1, 3)))
    assert read_image(tmp_path / "1.png").pixels.shape == (1, 1, 3)


@pytest.mark.parametrize("depth", [8, 16])
def test_gray_alpha_png_round_trips_as_gray_alpha(tmp_path, depth):
    """A gray + alpha PNG is read as one channel plus alpha and written back as gray + alpha (colour type 4)."""
    gray = (np.arange(6 * 5).reshape(6, 5, 1) / 29).astype(np.float32)
    alpha = np.linspace(0, 1, 30).reshape(6, 5)
    path = write_image(tmp_path / "ga.png", gray, alpha=alpha, bit_depth=depth)
    assert path.read_bytes()[24:26] == bytes([depth, 4])  # IHDR: bit depth, colour type gray + alpha
    img = read_image(path)
    peak = 255 if depth == 8 else 65535
    assert img.pixels.shape == (6, 5, 1) and img.bit_depth == depth
    np.testing.assert_allclose(img.pixels, np.round(gray * peak) / peak, atol=1e-7)
    np.testing.assert_allclose(img.alpha, np.round(alpha * peak) / peak, atol=1e-7)


def test_a_gray_alpha_png_from_another_encoder_reads_as_gray(tmp_path):
    from PIL import Image as PILImage

    la = np.dstack([np.arange(20, dtype=np.uint8).reshape(4, 5) * 10, np.full((4, 5), 128, np.uint8)])
    PILImage.fromarray(la, "LA").save(tmp_path / "la.png")
    img = read_image(tmp_path / "la.png")
    assert img.pixels.shape == (4, 5, 1) and img.alpha is not None
    np.testing.assert_array_equal(np.round(img.pixels[..., 0] * 255), la[..., 0])
