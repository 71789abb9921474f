"""Image classification data: a folder per class, one preprocessing shared by training and serving.

The same :class:`ImagePreprocessing` (and the same :func:`to_rgb` and :func:`load_pixels`) turns
a file into model input when the dataset is read for training, when the server decodes a b64
upload and when a client prepares a raw tensor, so the three can never drift apart. The spec is
written into ``modelship.json`` so a served version says exactly what it expects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from modelship.errors import InvalidInput

__all__ = [
    "IMAGE_SUFFIXES",
    "ImageDataset",
    "ImagePreprocessing",
    "augment",
    "class_names",
    "load_image_folder",
    "load_pixels",
    "prepare",
    "to_rgb",
]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff")
PREPROCESSING_KIND = "image"
# ImageNet's channel statistics: the usual default, and harmless for other data.
DEFAULT_MEAN = (0.485, 0.456, 0.406)
DEFAULT_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ImagePreprocessing:
    """How an image file becomes one model input, recorded in ``modelship.json``.

    Attributes:
        size: ``(height, width)`` the image is resized to (stretched, aspect not kept).
        resample: Pillow's resampling filter name used to resize.
        scale: multiplies the 8-bit RGB values (``1/255`` gives ``[0, 1]``).
        mean: per-channel mean subtracted after scaling.
        std: per-channel standard deviation divided by after the mean.
        normalize_in_model: the exported model applies ``mean``/``std`` itself, so inputs are
            the scaled pixels; when ``False`` the server (or the client) normalises.
        layout: ``NHWC`` or ``NCHW``: the tensor layout the model takes.
    """

    size: tuple[int, int] = (224, 224)
    resample: str = "bilinear"
    scale: float = 1.0 / 255.0
    mean: tuple[float, float, float] = DEFAULT_MEAN
    std: tuple[float, float, float] = DEFAULT_STD
    normalize_in_model: bool = True
    layout: str = "NHWC"

    def __post_init__(self) -> None:
        if self.layout not in ("NHWC", "NCHW"):
            raise InvalidInput(f"layout must be NHWC or NCHW, got {self.layout!r}")
        if min(self.size) < 1:
            raise InvalidInput(f"image size must be positive, got {self.size}")
        if self.resample.upper() not in Image.Resampling.__members__:
            raise InvalidInput(f"unknown resampling filter {self.resample!r}")

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """One example's shape, without the batch dimension."""
        h, w = self.size
        return (h, w, 3) if self.layout == "NHWC" else (3, h, w)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": PREPROCESSING_KIND,
            "size": list(self.size),
            "resample": self.resample,
            "color_mode": "RGB",
            "scale": self.scale,
            "mean": list(self.mean),
            "std": list(self.std),
            "normalize_in_model": self.normalize_in_model,
            "layout": self.layout,
            "dtype": "float32",
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImagePreprocessing | None:
        """The spec in a manifest's ``preprocessing``; ``None`` when it is not an image model."""
        if not data or data.get("kind") != PREPROCESSING_KIND:
            return None
        h, w = (int(x) for x in data["size"])
        mean = tuple(float(x) for x in data.get("mean", DEFAULT_MEAN))
        std = tuple(float(x) for x in data.get("std", DEFAULT_STD))
        return cls(
            size=(h, w),
            resample=str(data.get("resample", "bilinear")),
            scale=float(data.get("scale", 1.0 / 255.0)),
            mean=(mean[0], mean[1], mean[2]),
            std=(std[0], std[1], std[2]),
            normalize_in_model=bool(data.get("normalize_in_model", True)),
            layout=str(data.get("layout", "NHWC")),
        )

    def resize(self, image: Image.Image) -> Image.Image:
        """``image`` (RGB) resized to :attr:`size`."""
        h, w = self.size
        if image.size == (w, h):
            return image
        return image.resize((w, h), Image.Resampling[self.resample.upper()])

    def to_tensor(self, pixels: np.ndarray[Any, Any]) -> np.ndarray[Any, np.dtype[np.float32]]:
        """8-bit RGB ``N x H x W x 3`` (already resized) to the float32 model input batch."""
        x: np.ndarray[Any, Any] = pixels.astype(np.float32) * np.float32(self.scale)
        if not self.normalize_in_model:
            x = (x - np.asarray(self.mean, np.float32)) / np.asarray(self.std, np.float32)
        if self.layout == "NCHW":
            x = x.transpose(0, 3, 1, 2)
        return np.ascontiguousarray(x, dtype=np.float32)


def to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow image as 8-bit RGB: the one colour conversion everything here uses.

    EXIF orientation is applied (photos from phones are stored sideways); the first frame of an
    animation is used; transparency is composited onto white rather than dropped, because the
    colour under a transparent pixel is arbitrary; 16- and 32-bit grayscale is scaled down to
    8 bits instead of being clipped at 255 as a plain ``convert`` would.
    """
    if getattr(image, "n_frames", 1) > 1:
        image.seek(0)
    image = ImageOps.exif_transpose(image) or image
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") or values.max(initial=0) > 255 else 255.0
        scaled = np.clip(values * (255.0 / top), 0, 255).astype(np.uint8)
        return Image.fromarray(scaled, "L").convert("RGB")
    if mode == "F":
        floats: np.ndarray[Any, np.dtype[np.float64]] = np.asarray(image, dtype=np.float64)
        top = 1.0 if floats.max(initial=0) <= 1.0 else 255.0
        scaled = np.clip(floats * (255.0 / top), 0, 255).astype(np.uint8)
        return Image.fromarray(scaled, "L").convert("RGB")
    has_alpha = mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info)
    if has_alpha:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image if mode == "RGB" else image.convert("RGB")


def prepare(image: Image.Image, spec: ImagePreprocessing) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """An opened image as resized 8-bit RGB ``H x W x 3``: decoding happens here.

    For JPEG, ``draft`` lets the decoder skip detail the resize would throw away (a 12-megapixel
    photo decodes at 1/8 scale, still at least twice the target size), which makes large
    photos several times cheaper without a visible difference.
    """
    h, w = spec.size
    if image.format == "JPEG":
        image.draft("RGB", (w * 2, h * 2))
    return np.asarray(spec.resize(to_rgb(image)), dtype=np.uint8)


def load_pixels(path: Path, spec: ImagePreprocessing) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """The file at ``path`` as resized 8-bit RGB ``H x W x 3``."""
    with Image.open(path) as image:
        return prepare(image, spec)


@dataclass(frozen=True)
class ImageDataset:
    """A seeded train/validation split of resized 8-bit RGB images.

    Attributes:
        x_train: uint8 ``N x H x W x 3``.
        y_train: int64 ``N`` class indices into ``labels``.
        x_val: uint8 ``M x H x W x 3``.
        y_val: int64 ``M``.
        labels: class names (the folder names, sorted).
        preprocessing: the spec the pixels were prepared with.
        name: dataset name recorded in the manifest.
        source: where the images came from, shown to users.
        files_val: the validation files, index-aligned with ``x_val``.
    """

    x_train: np.ndarray[Any, np.dtype[np.uint8]]
    y_train: np.ndarray[Any, np.dtype[np.int64]]
    x_val: np.ndarray[Any, np.dtype[np.uint8]]
    y_val: np.ndarray[Any, np.dtype[np.int64]]
    labels: list[str]
    preprocessing: ImagePreprocessing
    name: str = "images"
    source: str = ""
    files_val: list[Path] = field(default_factory=list)

    @property
    def n_classes(self) -> int:
        return len(self.labels)


def _class_folders(root: Path) -> list[Path]:
    if not root.is_dir():
        raise InvalidInput(f"{root} is not a directory; expected one sub-folder per class")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(folders) < 2:
        raise InvalidInput(
            f"{root} has {len(folders)} class folder(s); a classifier needs at least two "
            "sub-folders, each holding the images of one class"
        )
    return folders


def _split(
    y: np.ndarray[Any, np.dtype[np.int64]], val_fraction: float, seed: int
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    # Per class, so a small class is never left out of either part.
    rng = np.random.default_rng(seed)
    train, val = [], []
    for cls in np.unique(y):
        members = np.flatnonzero(y == cls)
        rng.shuffle(members)
        n_val = max(1, round(len(members) * val_fraction)) if len(members) > 1 else 0
        val.append(members[:n_val])
        train.append(members[n_val:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


def load_image_folder(
    root: Path,
    preprocessing: ImagePreprocessing | None = None,
    *,
    val_fraction: float = 0.2,
    seed: int = 0,
) -> ImageDataset:
    """Read ``root/<class>/<image>`` into a seeded train/validation split.

    Args:
        root: one sub-folder per class; its name is the class name. JPEG, PNG, GIF, BMP,
            WebP and TIFF files are read, anything else is skipped.
        preprocessing: size and normalisation; default 224x224.
        val_fraction: share of each class held out for validation.
        seed: the same seed always gives the same split.

    Raises:
        InvalidInput: fewer than two classes, an empty class, or a file that is not an image.
    """
    if not 0.0 < val_fraction < 1.0:
        raise InvalidInput(f"val_fraction must be between 0 and 1, got {val_fraction}")
    spec = preprocessing or ImagePreprocessing()
    folders = _class_folders(Path(root))
    files: list[Path] = []
    targets: list[int] = []
    for index, folder in enumerate(folders):
        members = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not members:
            raise InvalidInput(
                f"class folder {folder} holds no images ({', '.join(IMAGE_SUFFIXES)})"
            )
        files.extend(members)
        targets.extend([index] * len(members))
    pixels = []
    for path in files:
        try:
            pixels.append(load_pixels(path, spec))
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            raise InvalidInput(f"cannot read {path} as an image: {exc}") from exc
    x = np.stack(pixels)
    y = np.asarray(targets, dtype=np.int64)
    train, val = _split(y, val_fraction, seed)
    return ImageDataset(
        x_train=x[train],
        y_train=y[train],
        x_val=x[val],
        y_val=y[val],
        labels=[f.name for f in folders],
        preprocessing=spec,
        name=Path(root).name,
        source=f"image folder {root} ({len(files)} images, {len(folders)} classes)",
        files_val=[files[i] for i in val],
    )


def augment(
    batch: np.ndarray[Any, np.dtype[np.uint8]],
    rng: np.random.Generator,
    *,
    flip: bool = True,
    max_shift: float = 0.1,
) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """Random horizontal flips and small shifts of an ``N x H x W x 3`` batch (a new array).

    Shifts move each image by up to ``max_shift`` of its size, filling the uncovered border
    with the edge pixels so no artificial black frame appears.
    """
    out = batch.copy()
    n, h, w = batch.shape[:3]
    if flip:
        flipped = rng.random(n) < 0.5
        out[flipped] = out[flipped, :, ::-1]
    if max_shift > 0:
        dy = rng.integers(-int(h * max_shift), int(h * max_shift) + 1, size=n)
        dx = rng.integers(-int(w * max_shift), int(w * max_shift) + 1, size=n)
        pad_y, pad_x = int(h * max_shift), int(w * max_shift)
        padded = np.pad(out, ((0, 0), (pad_y, pad_y), (pad_x, pad_x), (0, 0)), mode="edge")
        for i in range(n):
            top, left = pad_y - dy[i], pad_x - dx[i]
            out[i] = padded[i, top : top + h, left : left + w]
    return out


def class_names(root: Path) -> Sequence[str]:
    """The class names a folder would give, without reading any image."""
    return [p.name for p in _class_folders(Path(root))]
