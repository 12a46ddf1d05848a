"""Files keep what they carry: the input's ICC profile, resolution (scaled by the factor), EXIF (orientation
applied to the pixels, then reset) and XMP reach the output, for PNG, JPEG and TIFF, through `run` and a batch."""

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image, ImageCms, PngImagePlugin

from zssr_deploy.cli import main
from zssr_deploy.io import read_image

ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'


def _input(path, photo, fmt):
    """The photo saved by Pillow with an ICC profile, 300x200 DPI, EXIF (orientation 6: turn 90 degrees) and XMP."""
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "a scanner"
    px = np.round(photo[:30, :40] * 255).astype(np.uint8)
    kwargs = {"icc_profile": ICC, "dpi": (300, 200), "exif": exif.tobytes()}
    if fmt == "JPEG":
        kwargs["xmp"] = XMP
    if fmt == "PNG":  # Pillow writes a PNG's XMP as an iTXt chunk
        kwargs["pnginfo"] = PngImagePlugin.PngInfo()
        kwargs["pnginfo"].add_itxt("XML:com.adobe.xmp", XMP.decode())
    Image.fromarray(px).save(path, fmt, **kwargs)


@pytest.mark.parametrize("ext,fmt", [(".png", "PNG"), (".jpg", "JPEG"), (".tif", "TIFF")])
def test_icc_dpi_exif_and_xmp_survive_run(exported, tmp_path, photo, ext, fmt):
    src, out = tmp_path / f"in{ext}", tmp_path / f"out{ext}"
    _input(src, photo, fmt)
    assert read_image(src).pixels.shape == (40, 30, 3)  # the orientation applied on read
    r = CliRunner().invoke(main, ["run", str(exported("x2")[1]), str(src), "-o", str(out)])
    assert r.exit_code == 0, r.output
    with Image.open(out) as im:
        assert im.size == (60, 80)  # width, height: turned, then x2
        assert im.info["icc_profile"] == ICC
        assert im.info["dpi"] == pytest.approx((600, 400), abs=0.01)  # the same print size
        exif = im.getexif()
        assert exif.get(0x0112, 1) == 1 and exif[0x010F] == "a scanner"
        if fmt != "TIFF":
            xmp = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp")
            assert (xmp.encode() if isinstance(xmp, str) else xmp) == XMP
    assert read_image(out).pixels.shape == (80, 60, 3)  # read back unturned: the orientation was reset


def test_pixels_are_untouched_by_the_metadata(exported, tmp_path, photo):
    """The chunks are added to OpenCV's bytes: the PNG's pixels equal those of the same run on a bare copy."""
    _input(tmp_path / "meta.png", photo, "PNG")
    with Image.open(tmp_path / "meta.png") as im:
        bare = np.array(im.transpose(Image.Transpose.ROTATE_270))  # orientation 6, applied by hand
    Image.fromarray(bare).save(tmp_path / "bare.png")
    for name in ("meta", "bare"):
        r = CliRunner().invoke(main, ["run", str(exported("x2")[1]), str(tmp_path / f"{name}.png"), "-o",
                                      str(tmp_path / f"{name}_x2.png")])
        assert r.exit_code == 0, r.output
    np.testing.assert_array_equal(read_image(tmp_path / "meta_x2.png").pixels, read_image(tmp_path / "bare_x2.png").pixels)


def test_a_batch_keeps_the_metadata(tmp_path, photo):
    from tests.batch.conftest import FAST

    (tmp_path / "in").mkdir()
    _input(tmp_path / "in" / "a.jpg", photo, "JPEG")
    r = CliRunner().invoke(main, ["fit-and-run", str(tmp_path / "in"), "-o", str(tmp_path / "out"), *FAST,
                                  "--jobs", "2"])
    assert r.exit_code == 0, r.output
    with Image.open(tmp_path / "out" / "a.jpg") as im:
        assert im.info["icc_profile"] == ICC and im.info["dpi"] == (600, 400)


def test_unreadable_exif_is_dropped_not_fatal():
    from zssr_deploy.filemeta import FileMeta

    meta = FileMeta(exif=b"not exif at all").scaled((2.0, 2.0), (10, 10))
    assert meta.exif is None
    assert FileMeta(dpi=(72.0, 96.0)).scaled((2.0, 3.0), (10, 10)).dpi == (216.0, 192.0)
