"""Deterministic synthetic pictures (landscapes, patterns) for the demo.

They are drawn from fixed seeds so every machine makes the same scenes; their
bytes may still differ between encoder versions, which is why the demo computes
its lists from what it drew rather than shipping hashes.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from safeguard.demo.fat12 import DiskFile, build_image

Size = tuple[int, int]


def _vertical_gradient(size: Size, top: tuple[int, int, int], bottom: tuple[int, int, int]):
    width, height = size
    t = np.linspace(0.0, 1.0, height)[:, None, None]
    column = (1 - t) * np.array(top) + t * np.array(bottom)
    return np.repeat(column, width, axis=1).astype(np.uint8)


def _smooth_noise(size: Size, rng: np.random.Generator, octaves: int = 5) -> np.ndarray:
    width, height = size
    field = np.zeros((height, width))
    for octave in range(octaves):
        cells = 2 ** (octave + 2)
        grid = rng.random((cells, cells))
        layer = Image.fromarray((grid * 255).astype(np.uint8)).resize(size, Image.BICUBIC)
        field += np.asarray(layer, dtype=float) / 255 / 2**octave
    return (field - field.min()) / (np.ptp(field) or 1)


def sunset(size: Size, rng: np.random.Generator) -> Image.Image:
    width, height = size
    image = Image.fromarray(_vertical_gradient(size, (250, 140, 60), (90, 40, 110)))
    draw = ImageDraw.Draw(image)
    radius = height // 6
    cx, cy = int(width * rng.uniform(0.3, 0.7)), int(height * 0.55)
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=(255, 220, 120))
    sea = _vertical_gradient((width, height // 3), (40, 60, 120), (10, 20, 50))
    image.paste(Image.fromarray(sea), (0, height - height // 3))
    return image


def mountains(size: Size, rng: np.random.Generator) -> Image.Image:
    width, height = size
    image = Image.fromarray(_vertical_gradient(size, (120, 180, 240), (220, 235, 250)))
    draw = ImageDraw.Draw(image)
    for layer, shade in enumerate(((90, 100, 120), (60, 80, 70), (30, 60, 40))):
        base = height * (0.5 + 0.15 * layer)
        xs = np.linspace(0, width, 9)
        peaks = [(x, base - rng.uniform(0.1, 0.35) * height) for x in xs]
        draw.polygon([(0, height), *peaks, (width, height)], fill=shade)
    return image


def rings(size: Size, rng: np.random.Generator) -> Image.Image:
    width, height = size
    y, x = np.mgrid[0:height, 0:width]
    cx, cy = width * rng.uniform(0.35, 0.65), height * rng.uniform(0.35, 0.65)
    r = np.hypot(x - cx, y - cy) / (min(size) / 14)
    rgb = np.stack(
        [np.sin(r) * 0.5 + 0.5, np.sin(r + 2.0) * 0.5 + 0.5, np.cos(r / 2) * 0.5 + 0.5], -1
    )
    return Image.fromarray((rgb * 255).astype(np.uint8))


def tiles(size: Size, rng: np.random.Generator) -> Image.Image:
    width = size[0]
    cells = 8
    colours = rng.integers(30, 230, size=(cells, cells, 3), dtype=np.uint8)
    board = Image.fromarray(colours).resize(size, Image.NEAREST)
    return board.filter(ImageFilter.GaussianBlur(radius=max(1, width // 400)))


def clouds(size: Size, rng: np.random.Generator) -> Image.Image:
    noise = _smooth_noise(size, rng)
    sky = _vertical_gradient(size, (70, 130, 220), (160, 200, 245)).astype(float)
    white = np.clip((noise - 0.45) * 2.5, 0, 1)[:, :, None]
    return Image.fromarray((sky * (1 - white) + 255 * white).astype(np.uint8))


def meadow(size: Size, rng: np.random.Generator) -> Image.Image:
    width, height = size
    image = Image.fromarray(_vertical_gradient(size, (150, 200, 90), (40, 110, 40)))
    draw = ImageDraw.Draw(image)
    for _ in range(120):
        x, y = rng.uniform(0, width), rng.uniform(height * 0.2, height)
        r = rng.uniform(3, 9) * width / 800
        colour = tuple(
            int(c) for c in rng.choice([(250, 250, 250), (250, 220, 60), (220, 80, 120)])
        )
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    return image


SCENES: dict[str, Callable[[Size, np.random.Generator], Image.Image]] = {
    "sunset": sunset,
    "mountains": mountains,
    "rings": rings,
    "tiles": tiles,
    "clouds": clouds,
    "meadow": meadow,
}


def draw_scene(name: str, size: Size = (1600, 1200), seed: int = 0) -> Image.Image:
    rng = np.random.default_rng([seed, *name.encode()])
    return SCENES[name](size, rng)


def write_demo_folder(folder: Path) -> list[Path]:
    """Write originals and the kinds of copies a real exhibit holds; return the files."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def save(image: Image.Image, name: str, **params) -> None:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path, **params)
        written.append(path)

    pictures = {name: draw_scene(name) for name in SCENES}
    for name, picture in pictures.items():
        save(picture, f"{name}.jpg", quality=90)
    save(
        pictures["sunset"].resize((800, 600), Image.LANCZOS), "copies/sunset-small.jpg", quality=60
    )
    save(pictures["mountains"].transpose(Image.Transpose.ROTATE_90), "copies/mountains-rotated.png")
    save(pictures["rings"].convert("L"), "copies/rings-grey.webp", quality=80)
    save(pictures["tiles"].quantize(64), "copies/tiles-palette.gif")
    # A picture saved under a misleading name: found by its bytes, not its extension.
    save(pictures["clouds"], "copies/notes.txt", format="JPEG", quality=85)
    with zipfile.ZipFile(folder / "backup.zip", "w") as archive:
        for name in ("rings", "meadow"):
            buffer = io.BytesIO()
            pictures[name].resize((800, 600)).save(buffer, "JPEG", quality=80)
            archive.writestr(f"old phone/{name}.jpg", buffer.getvalue())
    written.append(folder / "backup.zip")
    truncated = folder / "damaged/meadow-truncated.jpg"
    truncated.parent.mkdir(exist_ok=True)
    truncated.write_bytes((folder / "meadow.jpg").read_bytes()[:20_000])
    written.append(truncated)
    readme = folder / "damaged/readme.txt"
    readme.write_text("Demo exhibit: synthetic landscapes and patterns only.\n")
    written.append(readme)
    return written


def write_demo_card(path: Path) -> Path:
    """A camera card image: two pictures, one deleted, and one only in free space."""

    def jpeg(name: str) -> bytes:
        buffer = io.BytesIO()
        draw_scene(name, (400, 300)).save(buffer, "JPEG", quality=85)
        return buffer.getvalue()

    files = [
        DiskFile("SUNSET.JPG", jpeg("sunset")),
        DiskFile("TILES.JPG", jpeg("tiles"), deleted=True),
        DiskFile("MEADOW.JPG", jpeg("meadow")),
    ]
    path.write_bytes(build_image(files, unallocated=[jpeg("clouds")]))
    return path
