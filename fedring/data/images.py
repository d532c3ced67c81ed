"""A folder of images by class (torchvision's ImageFolder layout): ``<split>/<class>/<file>``.

Images are decoded with Pillow from the account's own store (S3 or local), converted to
the workload's mode (``L`` grey or ``RGB``) and, when the workload names a size, resized.
Class folders map to label indices through the workload's class names; without names,
sorted folder names give the indices (torchvision's rule), which only agree between
accounts that all hold every class, hence federated workloads should name their classes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from fedring.data.examples import Examples
from fedring.errors import DataError
from fedring.storage import Store

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


@dataclass(frozen=True)
class ImageSchema:
    """How a workload reads images: colour mode (``L`` or ``RGB``), and (width, height) or None."""

    mode: str = "L"
    size: tuple[int, int] | None = None


def read_image_folder(
    store: Store, folder: str, keys: list[str], schema: ImageSchema, classes: tuple[str, ...] | None
) -> Examples:
    """Every image under ``folder`` (``keys``, sorted) as uint8 [N, H, W] or [N, H, W, 3]."""
    from PIL import Image, UnidentifiedImageError

    pixels, names = [], []
    size = schema.size
    for key in keys:
        where = store.where(key)
        parts = key[len(folder):].split("/")
        if len(parts) != 2:
            raise DataError(f"{where}: an image folder holds <class>/<file>; this object is not one level down")
        if not parts[1].lower().endswith(IMAGE_SUFFIXES):
            raise DataError(f"{where}: not an image file (expected one of {', '.join(IMAGE_SUFFIXES)})")
        try:
            with Image.open(io.BytesIO(store.get(key))) as img:
                img = img.convert(schema.mode)
        except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError) as exc:
            raise DataError(f"{where}: cannot be decoded as an image ({exc})") from exc
        if size is None:
            size = img.size
        elif img.size != size:
            if schema.size is None:
                raise DataError(f"{where}: is {img.size[0]}x{img.size[1]}, the folder's first image {size[0]}x{size[1]}")
            img = img.resize(size, Image.Resampling.BILINEAR)
        pixels.append(np.asarray(img, dtype=np.uint8))
        names.append(parts[0])
    if not pixels:
        raise DataError(f"{store.where(folder)}: the image folder holds no images")
    classes = classes if classes is not None else tuple(sorted(set(names)))
    index = {name: i for i, name in enumerate(classes)}
    unknown = sorted(set(names) - index.keys())
    if unknown:
        raise DataError(
            f"{store.where(folder + unknown[0] + '/')}: class folder {unknown[0]!r} is not one of the "
            f"workload's classes ({', '.join(classes)})"
        )
    labels = np.array([index[n] for n in names], dtype=np.int64)
    return Examples(np.stack(pixels), labels, f"{folder} ({len(pixels)} images)")
