"""A small synthetic image-classification set, so the image demo and tests run offline.

Each class is a shape drawn in a colour family, at a random place, size and rotation, on a
noisy background; files alternate between JPEG and PNG (some PNGs with an alpha channel), so
the same loading path as a user's own photos is exercised.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from modelship.errors import InvalidInput

__all__ = ["SYNTHETIC_CLASSES", "write_synthetic_images"]

Box = tuple[float, float, float]  # centre x, centre y, radius
Draw = Callable[[ImageDraw.ImageDraw, Box, float, tuple[int, int, int]], None]


def _polygon(sides: int, cx: float, cy: float, r: float, angle: float) -> list[tuple[float, float]]:
    return [
        (cx + r * math.cos(angle + 2 * math.pi * k / sides),
         cy + r * math.sin(angle + 2 * math.pi * k / sides))
        for k in range(sides)
    ]  # fmt: skip


Colour = tuple[int, int, int]


def _circle(draw: ImageDraw.ImageDraw, box: Box, angle: float, colour: Colour) -> None:
    cx, cy, r = box
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)


def _square(draw: ImageDraw.ImageDraw, box: Box, angle: float, colour: Colour) -> None:
    draw.polygon(_polygon(4, *box, angle), fill=colour)


def _triangle(draw: ImageDraw.ImageDraw, box: Box, angle: float, colour: Colour) -> None:
    draw.polygon(_polygon(3, *box, angle), fill=colour)


def _cross(draw: ImageDraw.ImageDraw, box: Box, angle: float, colour: Colour) -> None:
    cx, cy, r = box
    width = max(2, int(r / 2.5))
    for a in (angle, angle + math.pi / 2):
        dx, dy = r * math.cos(a), r * math.sin(a)
        draw.line((cx - dx, cy - dy, cx + dx, cy + dy), fill=colour, width=width)


def _ring(draw: ImageDraw.ImageDraw, box: Box, angle: float, colour: Colour) -> None:
    cx, cy, r = box
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=colour, width=max(2, int(r / 3)))


def _star(draw: ImageDraw.ImageDraw, box: Box, angle: float, colour: Colour) -> None:
    cx, cy, r = box
    points = []
    for k in range(10):
        radius = r if k % 2 == 0 else r * 0.45
        a = angle + math.pi * k / 5
        points.append((cx + radius * math.cos(a), cy + radius * math.sin(a)))
    draw.polygon(points, fill=colour)


# class name -> (shape, base colour)
SYNTHETIC_CLASSES: dict[str, tuple[Draw, tuple[int, int, int]]] = {
    "red_circle": (_circle, (220, 40, 40)),
    "green_square": (_square, (40, 180, 60)),
    "blue_triangle": (_triangle, (40, 70, 220)),
    "orange_cross": (_cross, (240, 150, 30)),
    "purple_ring": (_ring, (150, 50, 190)),
    "yellow_star": (_star, (230, 220, 40)),
}


def _one_image(
    rng: np.random.Generator, size: int, draw_shape: Draw, colour: tuple[int, int, int]
) -> Image.Image:
    background = rng.integers(60, 200, size=3)
    noise = rng.normal(0, 18, size=(size, size, 3))
    pixels = np.clip(background + noise, 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    r = size * rng.uniform(0.18, 0.32)
    cx, cy = rng.uniform(r, size - r, size=2)
    jitter = rng.integers(-25, 26, size=3)
    fill = tuple(int(c) for c in np.clip(np.asarray(colour) + jitter, 0, 255))
    draw_shape(ImageDraw.Draw(image), (cx, cy, r), rng.uniform(0, 2 * math.pi), fill)  # type: ignore[arg-type]
    return image


def write_synthetic_images(
    root: Path,
    *,
    classes: int = 4,
    per_class: int = 40,
    size: int = 96,
    seed: int = 0,
) -> list[str]:
    """Write ``root/<class>/<n>.(jpg|png)`` and return the class names.

    Args:
        root: created if missing; existing files with the same names are replaced.
        classes: how many classes, 2 to 6.
        per_class: images per class.
        size: side of each square image in pixels (the loader resizes them anyway).
        seed: the same seed writes the same images.
    """
    if not 2 <= classes <= len(SYNTHETIC_CLASSES):
        raise InvalidInput(f"classes must be between 2 and {len(SYNTHETIC_CLASSES)}, got {classes}")
    if per_class < 2 or size < 16:
        raise InvalidInput("need at least 2 images per class and 16 pixels per side")
    rng = np.random.default_rng(seed)
    names = list(SYNTHETIC_CLASSES)[:classes]
    for name in names:
        draw_shape, colour = SYNTHETIC_CLASSES[name]
        folder = Path(root) / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            image = _one_image(rng, size, draw_shape, colour)
            if i % 2 == 0:
                image.save(folder / f"{i:04d}.jpg", quality=90)
            elif i % 6 == 1:
                # Every third PNG carries an alpha channel, as screenshots and web images do.
                image.putalpha(255)
                image.save(folder / f"{i:04d}.png")
            else:
                image.save(folder / f"{i:04d}.png")
    return names
