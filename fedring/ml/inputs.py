"""Turn user files into MNIST-style inputs: uint8 [N, 28, 28], white digit on black.

Each file is decoded on its own; a bad file yields an error for that file and the others
go on (``decode_all``). The rules, documented in ``docs/registry.md``:

- ``.npy``: shape (28, 28), (N, 28, 28) or (N, 1, 28, 28). uint8 is used as is; other
  integers must lie in 0..255; floats with a maximum <= 1 are scaled by 255, otherwise
  must lie in 0..255; NaN or infinity is refused. Arrays are taken as MNIST-style already.
- anything else is opened with Pillow (PNG, JPEG, ...): EXIF rotation applied; transparency
  composited over white; converted to grey (``convert("L")``). If the border's median is
  light (> 127) the image is inverted, since MNIST digits are white on black. An image of
  exactly 28x28 is then used as is. Any other size is prepared as MNIST was: contrast
  stretched, cropped to the ink's bounding box, scaled (Lanczos, antialiased) so its longer
  side is 20 pixels, and pasted into a 28x28 black square centred on its centre of mass.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SIDE, BOX = 28, 20
INK = 64  # after contrast stretching, pixels above this are ink
MAX_PIXELS = 64_000_000  # refuse decompression bombs with a clear message


@dataclass(frozen=True)
class Decoded:
    """One input file: its images and their names, or the reason it could not be used."""

    source: str
    names: tuple[str, ...] = ()
    images: np.ndarray | None = None
    error: str | None = None


class InputRefused(ValueError):
    """A file that cannot be used as input; the message says why."""


def decode_all(paths: Iterable[str | Path]) -> list[Decoded]:
    """Decode every path; failures become ``Decoded(error=...)`` instead of exceptions."""
    out = []
    for path in paths:
        try:
            out.append(decode(Path(path)))
        except InputRefused as exc:
            out.append(Decoded(str(path), error=str(exc)))
    return out


def decode(path: Path) -> Decoded:
    """One file as uint8 [N, 28, 28]; InputRefused says what is wrong with it."""
    if not path.is_file():
        raise InputRefused("no such file")
    if path.stat().st_size == 0:
        raise InputRefused("empty file")
    if path.suffix.lower() == ".npy":
        arr = _load_npy(path)
        images = from_array(arr)
        names = (str(path),) if arr.ndim == 2 else tuple(f"{path}[{i}]" for i in range(len(images)))
        return Decoded(str(path), names, images)
    return Decoded(str(path), (str(path),), from_image(path)[None])


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise InputRefused(f"not a readable .npy array ({exc})") from None


def from_array(arr: np.ndarray) -> np.ndarray:
    """Validate and convert an array to uint8 [N, 28, 28] (rules in the module docstring)."""
    shape = tuple(arr.shape)
    if arr.ndim == 4 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1:] != (SIDE, SIDE):
        raise InputRefused(f"wrong shape {shape}: expected (28, 28), (N, 28, 28) or (N, 1, 28, 28)")
    if arr.shape[0] == 0:
        raise InputRefused("the array holds no images (N = 0)")
    if arr.dtype == np.uint8:
        return np.ascontiguousarray(arr)
    if arr.dtype.kind not in "iuf":
        raise InputRefused(f"unsupported dtype {arr.dtype}: use uint8 0..255 or float")
    values = arr.astype(np.float64)
    if not np.isfinite(values).all():
        raise InputRefused("the array contains NaN or infinity")
    if arr.dtype.kind == "f" and values.max() <= 1.0:
        values = values * 255.0
    if values.min() < 0 or values.max() > 255:
        raise InputRefused(f"values range {values.min():g}..{values.max():g}: expected 0..255 (or 0..1 floats)")
    return np.rint(values).astype(np.uint8)


def from_image(path: Path) -> np.ndarray:
    """A PNG/JPEG/... file as one uint8 [28, 28] MNIST-style image."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            if img.width * img.height > MAX_PIXELS:
                raise InputRefused(f"image too large ({img.width}x{img.height})")
            img.load()
            img = ImageOps.exif_transpose(img)
            if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
                rgba = img.convert("RGBA")
                img = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
            grey = np.asarray(img.convert("L"), dtype=np.float64)
    except UnidentifiedImageError:
        raise InputRefused("corrupt, or not an image Pillow can read (use PNG, JPEG or .npy)") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise InputRefused(f"corrupt or truncated image ({exc})") from None
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    if np.median(border) > 127:
        grey = 255.0 - grey
    if grey.shape == (SIDE, SIDE):
        return np.rint(grey).astype(np.uint8)
    return _mnist_box(grey)


def _mnist_box(grey: np.ndarray) -> np.ndarray:
    """Crop to the ink, fit into 20x20 (Lanczos), centre by centre of mass in 28x28."""
    from PIL import Image

    low, high = grey.min(), grey.max()
    if high - low < 16:
        raise InputRefused("no digit found: the image is (almost) one colour")
    stretched = (grey - low) * (255.0 / (high - low))
    rows, cols = np.nonzero(stretched > INK)
    crop = stretched[rows.min(): rows.max() + 1, cols.min(): cols.max() + 1]
    h, w = crop.shape
    scale = BOX / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = np.asarray(
        Image.fromarray(crop.astype(np.float32), mode="F").resize(size, Image.Resampling.LANCZOS), dtype=np.float64
    ).clip(0, 255)
    total = small.sum()
    if total <= 0:
        raise InputRefused("no digit found after scaling")
    ys, xs = np.indices(small.shape)
    cy, cx = (ys * small).sum() / total, (xs * small).sum() / total
    top = int(np.clip(round(SIDE / 2 - cy), 0, SIDE - small.shape[0]))
    left = int(np.clip(round(SIDE / 2 - cx), 0, SIDE - small.shape[1]))
    canvas = np.zeros((SIDE, SIDE), dtype=np.float64)
    canvas[top: top + small.shape[0], left: left + small.shape[1]] = small
    return np.rint(canvas).astype(np.uint8)
