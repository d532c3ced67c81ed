"""Inputs: odd sizes, colour, light backgrounds, arrays; bad files fail alone, with a reason."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fedring.ml.inputs import InputRefused, decode, decode_all, from_array


@pytest.fixture
def digit() -> np.ndarray:
    """A white '1'-like stroke on black, MNIST style."""
    img = np.zeros((28, 28), dtype=np.uint8)
    img[5:23, 12:16] = 255
    return img


def test_28x28_grey_png_is_used_as_is(tmp_path: Path, digit) -> None:
    Image.fromarray(digit).save(tmp_path / "d.png")

    out = decode(tmp_path / "d.png")

    assert out.names == (str(tmp_path / "d.png"),)
    assert np.array_equal(out.images[0], digit)


def test_light_background_colour_jpeg_of_odd_size_is_inverted_and_boxed(tmp_path: Path) -> None:
    img = Image.new("RGB", (301, 77), (250, 245, 240))
    img.paste((20, 30, 200), (140, 10, 160, 70))  # a dark blue bar on a light background
    img.save(tmp_path / "d.jpg", quality=90)

    out = decode(tmp_path / "d.jpg").images[0]

    assert out.shape == (28, 28) and out.dtype == np.uint8
    assert out[:, :4].max() < 40 and out[:4].max() < 40  # background black
    assert out[14, 14] > 200  # ink white, centred
    rows = np.nonzero(out.max(axis=1) > 100)[0]
    assert 18 <= rows.max() - rows.min() + 1 <= 21  # longer side fitted into the 20-pixel box


def test_transparent_png_is_composited_over_white(tmp_path: Path) -> None:
    img = Image.new("RGBA", (50, 50), (0, 0, 0, 0))
    img.paste((0, 0, 0, 255), (20, 5, 30, 45))
    img.save(tmp_path / "t.png")

    out = decode(tmp_path / "t.png").images[0]

    assert out[0, 0] == 0 and out[14, 14] > 200


@pytest.mark.parametrize("size", [(1, 1), (3, 500)])
def test_degenerate_images_give_a_clear_error(tmp_path: Path, size) -> None:
    Image.new("L", size, 255).save(tmp_path / "blank.png")

    with pytest.raises(InputRefused, match="no digit"):
        decode(tmp_path / "blank.png")


def test_arrays_of_every_documented_form(tmp_path: Path, digit) -> None:
    np.save(tmp_path / "one.npy", digit)
    np.save(tmp_path / "many.npy", np.stack([digit, digit, digit]))
    np.save(tmp_path / "chan.npy", digit[None, None].astype(np.float32) / 255.0)
    np.save(tmp_path / "ints.npy", digit.astype(np.int64))

    one, many, chan, ints = (decode(tmp_path / f"{n}.npy") for n in ("one", "many", "chan", "ints"))

    assert one.names == (str(tmp_path / "one.npy"),) and one.images.shape == (1, 28, 28)
    assert many.names[2] == f"{tmp_path / 'many.npy'}[2]" and many.images.shape == (3, 28, 28)
    assert np.array_equal(chan.images[0], digit) and np.array_equal(ints.images[0], digit)


@pytest.mark.parametrize(("array", "reason"), [
    (np.zeros((3, 5)), "wrong shape (3, 5)"),
    (np.zeros((0, 28, 28)), "no images"),
    (np.full((28, 28), np.nan), "NaN"),
    (np.full((28, 28), 300.0), "0..255"),
    (np.full((28, 28), -1), "0..255"),
    (np.array(["x"] * 784).reshape(28, 28), "dtype"),
])
def test_bad_arrays_say_why(array, reason: str) -> None:
    with pytest.raises(InputRefused, match=reason.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        from_array(array)


def test_bad_files_fail_alone(tmp_path: Path, digit) -> None:
    Image.fromarray(digit).save(tmp_path / "good.png")
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    (tmp_path / "text.jpg").write_text("not an image")
    good_bytes = (tmp_path / "good.png").read_bytes()
    (tmp_path / "truncated.png").write_bytes(good_bytes[: len(good_bytes) // 2])
    (tmp_path / "pickle.npy").write_bytes(b"\x93NUMPY garbage")
    names = ["empty.png", "corrupt.png", "good.png", "text.jpg", "truncated.png", "pickle.npy", "missing.png"]

    out = decode_all(tmp_path / n for n in names)

    errors = {Path(d.source).name: d.error for d in out}
    assert errors["good.png"] is None
    assert errors["empty.png"] == "empty file"
    assert errors["missing.png"] == "no such file"
    assert "Pillow" in errors["text.jpg"]
    assert "corrupt" in errors["truncated.png"] or "truncated" in errors["truncated.png"]
    assert errors["corrupt.png"] and errors["pickle.npy"]
