from pathlib import Path

import pytest

from zssr_deploy.batch import collect_inputs, is_batch_input, output_paths
from zssr_deploy.errors import ConfigError, ImageReadError


def rel(inputs):
    return [i.relative.as_posix() for i in inputs.items]


def test_a_folder_takes_its_images_and_counts_what_it_skips(photo_folder):
    flat = collect_inputs(photo_folder)
    assert rel(flat) == ["a.png", "b.png"] and flat.skipped == 2  # notes.txt, .hidden.png
    deep = collect_inputs(photo_folder, recursive=True)
    assert rel(deep) == ["a.png", "b.png", "sub/c.png"] and deep.skipped == 2


def test_a_glob_keeps_paths_relative_to_its_fixed_part(photo_folder):
    assert rel(collect_inputs(str(photo_folder / "*.png"))) == ["a.png", "b.png"]
    assert rel(collect_inputs(str(photo_folder / "**" / "*.png"), recursive=True)) == ["a.png", "b.png", "sub/c.png"]
    assert is_batch_input(str(photo_folder / "*.png")) and is_batch_input(photo_folder)
    assert not is_batch_input(photo_folder / "a.png")


def test_nothing_to_take_is_a_clear_error(tmp_path):
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(ImageReadError, match=r"no images .*\(1 hidden or non-image"):
        collect_inputs(tmp_path)
    with pytest.raises(ImageReadError, match="does not exist"):
        collect_inputs(tmp_path / "missing")


def test_output_names_mirror_the_tree_with_suffix_and_extension(photo_folder):
    items = collect_inputs(photo_folder, recursive=True).items
    assert output_paths(items, "out", "_x2", "tif") == [Path("out/a_x2.tif"), Path("out/b_x2.tif"),
                                                         Path("out/sub/c_x2.tif")]
    assert output_paths(items, "out")[2] == Path("out/sub/c.png")


def test_two_inputs_writing_one_output_are_refused(tmp_path, photo):
    from zssr_deploy.io import write_image

    write_image(tmp_path / "a.png", photo[:24, :24])
    write_image(tmp_path / "a.jpg", photo[:24, :24])
    items = collect_inputs(tmp_path).items
    with pytest.raises(ConfigError, match="would both write"):
        output_paths(items, tmp_path / "out", ext="png")
    with pytest.raises(ConfigError, match="--ext"):
        output_paths(items, tmp_path / "out", ext="gif")


def test_one_rule_for_symlinks_each_file_once(tmp_path, photo):
    """A symlinked folder is followed (folders and globs alike); a link loop ends; a file reached twice (through
    a link to it, or a folder reached twice) is taken once: 2 images give 2 inputs, not 82."""
    import os

    from zssr_deploy.batch.inputs import collect_inputs
    from zssr_deploy.io import write_image

    real = tmp_path / "elsewhere"
    real.mkdir()
    write_image(real / "b.png", photo[:24, :24])
    root = tmp_path / "in"
    root.mkdir()
    write_image(root / "a.png", photo[:24, :24])
    os.symlink(real, root / "linked")  # a legitimate symlinked folder
    os.symlink(root, root / "loop")  # a loop back to the root
    os.symlink(root / "a.png", root / "again.png")  # another name for a.png
    for spec in (root, f"{root}/**/*.png"):
        items = collect_inputs(spec, recursive=True).items
        assert sorted(i.relative.as_posix() for i in items) == ["a.png", "linked/b.png"], spec
