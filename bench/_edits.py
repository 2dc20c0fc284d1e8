"""The edits ``bench/robustness.py`` applies to each photo: photometric, dihedral, crops,
turns, margins, overlays, screens and a collage, each with the JPEG quality the copy is
saved at."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

from safeguard.media.variants import inscribed


def _crop(left: float, top: float, right: float, bottom: float):
    def crop(image: Image.Image) -> Image.Image:
        w, h = image.size
        return image.crop((int(w * left), int(h * top), w - int(w * right), h - int(h * bottom)))

    return crop


def _canvas(image: Image.Image, size: tuple[int, int], at: tuple[int, int], colour) -> Image.Image:
    out = Image.new("RGB", size, colour)
    out.paste(image, at)
    return out


def _pad(fraction: float, colour=(0, 0, 0)):
    def pad(image: Image.Image) -> Image.Image:
        w, h = image.size
        size = (int(w * (1 + 2 * fraction)), int(h * (1 + 2 * fraction)))
        return _canvas(image, size, (int(w * fraction), int(h * fraction)), colour)

    return pad


def _pad_white_uneven(image: Image.Image) -> Image.Image:
    w, h = image.size
    return _canvas(image, (int(w * 1.3), int(h * 1.15)), (int(w * 0.05), int(h * 0.12)),
                   (255, 255, 255))  # fmt: skip


def _letterbox(image: Image.Image) -> Image.Image:
    w, h = image.size
    width = max(w, int(h * 16 / 9)) + 2
    return _canvas(image, (width, h), ((width - w) // 2, 0), (0, 0, 0))


def _text_band(image: Image.Image) -> Image.Image:
    out = image.copy()
    w, h = out.size
    band = int(h * 0.2)
    draw = ImageDraw.Draw(out)
    draw.rectangle((0, h - band, w, h), fill=(255, 255, 255))
    draw.text((10, h - band + band // 3), "shared 3 times - reply", fill=(0, 0, 0))
    return out


def _meme(image: Image.Image) -> Image.Image:
    w, h = image.size
    out = _canvas(image, (w, int(h * 1.25)), (0, int(h * 0.25)), (255, 255, 255))
    draw = ImageDraw.Draw(out)
    draw.text((12, int(h * 0.06)), "ME WHEN THE WEEKEND IS OVER", fill=(0, 0, 0))
    draw.text((12, int(h * 0.15)), "and the bus is late again", fill=(0, 0, 0))
    return out


def _sticker(image: Image.Image) -> Image.Image:
    """A round sticker of 6 % of the area over the picture, off centre."""
    out = image.copy()
    w, h = out.size
    radius = int((0.06 * w * h / np.pi) ** 0.5)
    cx, cy = int(w * 0.68), int(h * 0.35)
    draw = ImageDraw.Draw(out)
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=(250, 205, 40),
                 outline=(40, 40, 40), width=3)  # fmt: skip
    draw.text((cx - radius // 2, cy - 5), "LOL", fill=(40, 40, 40))
    return out


def _corner_logo(image: Image.Image) -> Image.Image:
    """A channel's logo over 10 % of the area, in the bottom right corner."""
    out = image.copy()
    w, h = out.size
    lw, lh = int(w * 0.4), int(h * 0.25)
    draw = ImageDraw.Draw(out)
    draw.rectangle((w - lw, h - lh, w, h), fill=(20, 60, 160))
    draw.text((w - lw + 12, h - lh // 2 - 6), "@somechannel", fill=(255, 255, 255))
    return out


def _noise(image: Image.Image) -> Image.Image:
    pixels = np.asarray(image).astype(np.int16)
    noise = np.random.default_rng(pixels.size).normal(0, 12, pixels.shape)
    return Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8))


def _square(image: Image.Image) -> Image.Image:
    w, h = image.size
    side = min(w, h)
    return image.crop(((w - side) // 2, (h - side) // 2, (w + side) // 2, (h + side) // 2))


def _rotate_cut(image: Image.Image) -> Image.Image:
    """Turned 3.5 degrees (between two enrolled angles), then cut to the largest centred
    rectangle of its shape free of corners."""
    turned = np.asarray(image.rotate(3.5, resample=Image.Resampling.BILINEAR))
    return Image.fromarray(inscribed(turned, 3.5))


def _phone(image: Image.Image) -> Image.Image:
    """Shown on a phone: a dark screen with status and caption text around the picture."""
    width = 720
    shown = image.resize((width, int(image.height * width / image.width)), Image.BILINEAR)
    out = _canvas(shown, (width, max(1560, shown.height + 400)), (0, 0), (18, 18, 18))
    top = (out.height - shown.height) // 2
    out = _canvas(shown, out.size, (0, top), (18, 18, 18))
    draw = ImageDraw.Draw(out)
    draw.text((20, 20), "9:41        5G  87%", fill=(230, 230, 230))
    draw.text((20, top - 40), "someone_12  - 2h", fill=(230, 230, 230))
    draw.text((20, top + shown.height + 20), "look at this lol", fill=(230, 230, 230))
    return out


def _desktop(image: Image.Image) -> Image.Image:
    """Shown in a viewer window on a 1920 x 1080 desktop: title bar, grey surround, taskbar."""
    out = Image.new("RGB", (1920, 1080), (32, 86, 140))
    draw = ImageDraw.Draw(out)
    draw.rectangle((200, 80, 1720, 980), fill=(60, 60, 60))
    draw.rectangle((200, 80, 1720, 115), fill=(230, 230, 230))
    draw.text((215, 90), "IMG_2041.jpg - Photos", fill=(0, 0, 0))
    draw.rectangle((0, 1040, 1920, 1080), fill=(20, 20, 20))
    draw.text((1800, 1052), "14:02", fill=(255, 255, 255))
    scale = min(1480 / image.width, 845 / image.height)
    shown = image.resize((int(image.width * scale), int(image.height * scale)), Image.BILINEAR)
    out.paste(shown, (960 - shown.width // 2, 120 + (855 - shown.height) // 2))
    return out


def _screenshot_like(image: Image.Image) -> Image.Image:
    w, h = image.size
    return _crop(0.03, 0.03, 0.03, 0.03)(image.resize((int(w * 0.7), int(h * 0.7)), Image.BILINEAR))


FILLERS: list[Image.Image] = []  # three tuned-on photos, never enrolled: the collage's others


def _collage(image: Image.Image) -> Image.Image:
    """The photo top left in a 2 x 2 grid of 600 x 450 tiles with three other photos."""
    out = Image.new("RGB", (1200, 900), (255, 255, 255))
    for position, tile in enumerate([image, *FILLERS]):
        out.paste(tile.resize((596, 446), Image.BILINEAR), (600 * (position % 2) + 2,
                                                            450 * (position // 2) + 2))  # fmt: skip
    return out


EDITS: dict[str, tuple[Callable[[Image.Image], Image.Image], int]] = {
    "jpeg q30": (lambda im: im, 30),
    "resize 0.5": (lambda im: im.resize((im.width // 2, im.height // 2), Image.LANCZOS), 95),
    "blur r=2": (lambda im: im.filter(ImageFilter.GaussianBlur(2)), 95),
    "noise sd 12": (_noise, 95),
    "brightness x1.3": (lambda im: ImageEnhance.Brightness(im).enhance(1.3), 95),
    "greyscale": (lambda im: im.convert("L").convert("RGB"), 95),
    "squash 16:9": (lambda im: im.resize((im.width, im.width * 9 // 16), Image.BILINEAR), 90),
    "horizontal flip": (lambda im: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT), 95),
    "rotate 90": (lambda im: im.transpose(Image.Transpose.ROTATE_90), 95),
    "rotate 180": (lambda im: im.transpose(Image.Transpose.ROTATE_180), 95),
    "crop 5%/side": (_crop(0.05, 0.05, 0.05, 0.05), 95),
    "crop 10%/side": (_crop(0.10, 0.10, 0.10, 0.10), 95),
    "crop 7.5%/side": (_crop(0.075, 0.075, 0.075, 0.075), 95),
    "off-centre 15%, grid": (_crop(0.10, 0.05, 0.05, 0.10), 95),
    "off-centre 15%, off": (_crop(0.11, 0.04, 0.04, 0.11), 95),
    "square crop": (_square, 95),
    "rotate 5 deg": (lambda im: im.rotate(5, resample=Image.BILINEAR), 95),
    "rotate 3.5 deg, cut": (_rotate_cut, 95),
    "pad 5% black": (_pad(0.05), 95),
    "pad 20% black": (_pad(0.20), 95),
    "pad white, uneven": (_pad_white_uneven, 90),
    "letterbox 16:9": (_letterbox, 90),
    "20% text band": (_text_band, 95),
    "meme caption": (_meme, 90),
    "sticker 6%": (_sticker, 90),
    "corner logo 10%": (_corner_logo, 90),
    "desktop screenshot": (_desktop, 85),
    "phone screenshot": (_phone, 85),
    "screenshot-like": (_screenshot_like, 70),
    "2x2 collage": (_collage, 85),
}
