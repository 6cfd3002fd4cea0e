"""Scanned samples: a form PDF printed, stamped with a red seal, scanned (rasterised, tilted, noisy).

usage: python -m samples.scan SRC.pdf OUT.(pdf|png|jpg|tif) [--dpi 200] [--no-seal] [--rotate 1.0]
                              [--no-noise] [--grain 6] [--seed 0] [--grey] [--pages 2,3] [--quality 70]
                              [--turn 0|90|180|270] [--text-layer [--wrong-digits N]]

``make_scan(pdf_path, out_path, dpi, seal=True, rotate=1.0, noise=True, seed=0)`` rasterises every page
with pdftoppm (pypdfium2 when poppler is missing), then per page:

- seal: a red official seal (42 mm ring, star, the institution's name around the rim, 专用章 below the star)
  printed over a score cell of the page (a number in the right-hand columns, read from the source PDF's
  text layer, chosen by the seed); blended by multiplication, so black ink under the seal stays black;
  with ``grey`` the stamped, noisy page is converted to grey, as a grayscale scanner records it: the seal
  stays, a mid-grey ring over the digits;
- rotate: the page turned by that many degrees (the sign alternates page by page), white corners;
- noise: slightly yellowish paper, uneven lighting (a smooth brightness field), scanner blur and grain.

- turn: the page turned a quarter turn or upside down (a landscape page fed sideways).

The output holds the pages as images only (no text layer): a PDF of JPEG pages, a multi-page TIFF, or one
page as PNG/JPEG (``pages`` picks them; 1-based); or, with ``text_layer``, a searchable scan: the JPEG pages
with the scanner's OCR drawn invisibly over them (samples/scan_layer.py), some digits of it wrong if asked. Output is deterministic for given arguments (the PDF's
dates are fixed). The truth of a scan is the truth of its source form.
"""

from __future__ import annotations

import argparse
import io
import math
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

SEAL_DIAMETER_MM = 42.0
SEAL_RED = (214, 36, 48)
SEAL_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"
SEAL_NAME = "海南州日月山餐饮管理有限公司"
_NUMBER = re.compile(r"^\d+(\.\d+)?分?$")


# --- rasterising -------------------------------------------------------------------------------------


def rasterise(pdf_path: Path, dpi: int) -> list[Image.Image]:
    """Given a PDF, return its pages as RGB images at dpi: pdftoppm, else (or where pdftoppm drew no glyphs, as
    poppler without poppler-data does for reportlab's non-embedded CID font STSong-Light) pypdfium2."""
    exe = shutil.which("pdftoppm")
    if exe:
        with tempfile.TemporaryDirectory(prefix="scan-") as tmp:
            subprocess.run([exe, "-r", str(dpi), "-png", str(pdf_path), f"{tmp}/p"], check=True,
                           capture_output=True, timeout=600)
            files = sorted(Path(tmp).glob("p-*.png"), key=lambda p: int(p.stem.split("-")[-1]))
            images = [Image.open(f).convert("RGB") for f in files]
        if glyphs_drawn(pdf_path, images, dpi):
            return images
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(pdf_path))
    try:
        return [pdf[i].render(scale=dpi / 72).to_pil().convert("RGB") for i in range(len(pdf))]
    finally:
        pdf.close()


def glyphs_drawn(pdf_path: Path, images: list[Image.Image], dpi: int, sample: int = 200) -> bool:
    """Given a PDF with a text layer and its rendered pages, return whether the renderer drew its characters:
    most of the (up to `sample` per page) visible characters have dark ink inside their boxes."""
    import pdfplumber

    inked = total = 0
    with pdfplumber.open(pdf_path) as pdf:
        for page, image in zip(pdf.pages, images, strict=False):
            grey = np.asarray(image.convert("L"))
            scale = dpi / 72.0
            for c in [c for c in page.chars if c["text"].strip()][:sample]:
                box = grey[int(c["top"] * scale):int(c["bottom"] * scale) + 1, int(c["x0"] * scale):int(c["x1"] * scale) + 1]
                total += 1
                inked += bool(box.size) and int(box.min()) < 128
            page.close()
    return total == 0 or inked >= 0.5 * total


def score_spots(pdf_path: Path) -> list[list[tuple[float, float]]]:
    """Given a PDF with a text layer, return per page the centres (share of width, share of height) of the
    numbers printed in its right-hand third: the score cells a seal is stamped over."""
    import pdfplumber

    spots = []
    with pdfplumber.open(pdf_path) as pdf:
        for page in pdf.pages:
            words = page.extract_words()
            spots.append([((w["x0"] + w["x1"]) / 2 / page.width, (w["top"] + w["bottom"]) / 2 / page.height)
                          for w in words if _NUMBER.match(w["text"]) and w["x0"] > page.width * 0.6])
            page.close()
    return spots


# --- the seal ------------------------------------------------------------------------------------------


def _star(cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    points = []
    for k in range(10):
        radius = r if k % 2 == 0 else r * 0.38
        angle = -math.pi / 2 + k * math.pi / 5
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    return points


def draw_seal(dpi: int, name: str = SEAL_NAME, rng: np.random.RandomState | None = None) -> Image.Image:
    """Return a seal as an RGBA image at dpi: ring, star, name around the top of the rim, 专用章 below."""
    size = int(SEAL_DIAMETER_MM / 25.4 * dpi)
    mm = dpi / 25.4
    seal = Image.new("L", (size, size), 0)  # ink coverage
    d = ImageDraw.Draw(seal)
    d.ellipse((mm * 0.6, mm * 0.6, size - mm * 0.6, size - mm * 0.6), outline=255, width=max(int(1.2 * mm), 2))
    c = size / 2
    d.polygon(_star(c, c, size * 0.16), fill=255)
    font = ImageFont.truetype(SEAL_FONT, max(int(4.2 * mm), 8)) if Path(SEAL_FONT).exists() else \
        ImageFont.load_default()
    radius = size / 2 - 5.2 * mm
    span = math.radians(230)
    for k, ch in enumerate(name):
        angle = -math.pi / 2 - span / 2 + span * (k + 0.5) / len(name)
        glyph = Image.new("L", (int(6 * mm), int(6 * mm)), 0)
        ImageDraw.Draw(glyph).text((glyph.width / 2, glyph.height / 2), ch, fill=255, font=font, anchor="mm")
        glyph = glyph.rotate(-math.degrees(angle) - 90, resample=Image.BICUBIC)
        x, y = c + radius * math.cos(angle), c + radius * math.sin(angle)
        seal.paste(255, (int(x - glyph.width / 2), int(y - glyph.height / 2)), glyph)
    small = ImageFont.truetype(SEAL_FONT, max(int(3.6 * mm), 8)) if Path(SEAL_FONT).exists() else font
    d.text((c, c + size * 0.3), "专用章", fill=255, font=small, anchor="mm")
    if rng is not None:  # uneven stamp ink
        patchy = rng.uniform(0.55, 1.0, (max(size // 8, 1), max(size // 8, 1)))
        field = Image.fromarray((patchy * 255).astype(np.uint8)).resize((size, size), Image.BICUBIC)
        seal = ImageChops.multiply(seal, field)
    rgba = Image.new("RGBA", (size, size), SEAL_RED + (0,))
    rgba.putalpha(seal)
    return rgba


def stamp(page: Image.Image, seal: Image.Image, centre: tuple[float, float]) -> Image.Image:
    """Given a page and a seal, return the page with the seal printed at centre (pixels) by multiplication."""
    layer = Image.new("RGB", page.size, (255, 255, 255))
    x, y = int(centre[0] - seal.width / 2), int(centre[1] - seal.height / 2)
    layer.paste(seal.convert("RGB"), (x, y), seal)
    return ImageChops.multiply(page, layer)


# --- scanning ------------------------------------------------------------------------------------------


def scan_noise(page: Image.Image, rng: np.random.RandomState, dpi: int, grain: float = 6.0) -> Image.Image:
    """Given a clean page, return it as a scanner sees it: paper tint, uneven light, blur, grain (the standard
    deviation of the per-pixel noise, in grey levels)."""
    w, h = page.size
    blurred = page.filter(ImageFilter.GaussianBlur(radius=0.45 * dpi / 200))
    a = np.asarray(blurred, dtype=np.float32)
    coarse = rng.uniform(0.86, 1.0, (4, 3)).astype(np.float32)
    light = np.asarray(Image.fromarray((coarse * 255).astype(np.uint8)).resize((w, h), Image.BICUBIC),
                       dtype=np.float32) / 255.0
    ramp = np.linspace(1.0, 0.93, w, dtype=np.float32)[np.newaxis, :]
    tint = np.array([1.0, 0.985, 0.95], dtype=np.float32)
    a = a * (light * ramp)[..., np.newaxis] * tint
    if grain:
        a += rng.normal(0.0, grain, a.shape[:2]).astype(np.float32)[..., np.newaxis]
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def seal_radius(dpi: int) -> float:
    """The radius (pixels at dpi) of the middle of a seal's ring as ``draw_seal`` draws it."""
    return int(SEAL_DIAMETER_MM / 25.4 * dpi) / 2 - 1.2 * dpi / 25.4


def rotated_point(point: tuple[float, float], size: tuple[int, int], angle: float) -> tuple[float, float]:
    """Where a point (pixels) of an image of size lies after PIL's ``rotate(angle)`` (counter-clockwise, about
    the centre, same size)."""
    cx, cy = size[0] / 2, size[1] / 2
    a = math.radians(angle)
    dx, dy = point[0] - cx, point[1] - cy
    return cx + dx * math.cos(a) + dy * math.sin(a), cy - dx * math.sin(a) + dy * math.cos(a)


def scan_page(page: Image.Image, dpi: int, spots: list[tuple[float, float]], number: int, seal: bool,
              rotate: float, noise: bool, seed: int, grain: float = 6.0,
              seals: list | None = None) -> Image.Image:
    """Given one clean page image and its score spots, return it sealed, tilted and noisy as asked; the seal's
    centre on the returned page (pixels) and its ring's radius are appended to seals as (x, y, radius)."""
    rng = np.random.RandomState(seed * 1000 + number)
    centre = None
    if seal and spots:
        fx, fy = spots[rng.randint(len(spots))]
        shift = rng.uniform(-0.15, 0.15, 2) * SEAL_DIAMETER_MM / 25.4 * dpi
        drawn = draw_seal(dpi, rng=rng)
        centre = (fx * page.width + shift[0], fy * page.height + shift[1])
        page = stamp(page, drawn, centre)
        # stamp pastes at whole pixels: the ring's centre is the pasted image's centre
        centre = (int(centre[0] - drawn.width / 2) + drawn.width / 2,
                  int(centre[1] - drawn.height / 2) + drawn.height / 2)
    if rotate:
        angle = rotate if number % 2 else -rotate
        page = page.rotate(angle, resample=Image.BICUBIC, expand=False, fillcolor=(255, 255, 255))
        centre = centre and rotated_point(centre, page.size, angle)
    if centre is not None and seals is not None:
        seals.append((centre[0], centre[1], seal_radius(dpi)))
    if noise:
        page = scan_noise(page, rng, dpi, grain)
    return page


def make_scan(pdf_path: Path | str, out_path: Path | str, dpi: int, seal: bool = True, rotate: float = 1.0,
              noise: bool = True, seed: int = 0, grey: bool = False, pages: list[int] | None = None,
              quality: int = 70, grain: float = 6.0, turn: int = 0, text_layer: bool = False, wrong_digits: int = 0,
              planted: list | None = None, seals: list | None = None) -> Path:
    """Given a form PDF (with a text layer), write its scan to out_path and return it.

    out_path's suffix picks the format: .pdf (JPEG pages at dpi, no text layer), .tif/.tiff (all pages),
    .png/.jpg/.jpeg (the first page of `pages`). grey writes greyscale pages; grain is the noise's strength;
    turn (0, 90, 180, 270) turns every page that many degrees clockwise (the paper fed sideways or upside down).
    text_layer (.pdf only) makes a searchable scan (samples/scan_layer.py): the source's characters drawn
    invisibly where the scan put them, `wrong_digits` score numbers with another first digit, each appended to
    `planted` as {page, image, layer}. Each seal stamped is appended to `seals` as {page (1-based, of the scan),
    x, y (its centre, pixels of the scan's page), radius (of the middle of its ring, pixels)}.
    """
    pdf_path, out_path = Path(pdf_path), Path(out_path)
    images = rasterise(pdf_path, dpi)
    spots = score_spots(pdf_path)
    chosen = pages or list(range(1, len(images) + 1))
    scanned = []
    for number in chosen:
        stamped: list = []
        page = scan_page(images[number - 1], dpi, spots[number - 1], number, seal, rotate, noise, seed, grain,
                         stamped)
        if turn % 360:
            w, h = page.size
            page = page.transpose({90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180,
                                   270: Image.Transpose.ROTATE_90}[turn % 360])
            stamped = [{90: (h - y, x), 180: (w - x, h - y), 270: (y, w - x)}[turn % 360] + (r,)
                       for x, y, r in stamped]
        if seals is not None:
            seals.extend({"page": len(scanned) + 1, "x": x, "y": y, "radius": r} for x, y, r in stamped)
        # a grayscale scanner sees the stamped, printed page and records its brightness only
        scanned.append(page.convert("L") if grey else page)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    suffix = out_path.suffix.lower()
    if text_layer:
        if suffix != ".pdf":
            raise ValueError("a text layer needs a .pdf scan")
        from samples import scan_layer

        chars = scan_layer.source_chars(pdf_path)
        numbers = [boxes if n in chosen else [] for n, boxes in enumerate(scan_layer.score_numbers(pdf_path), 1)]
        found = scan_layer.plant(chars, numbers, wrong_digits, seed)
        if planted is not None:  # numbered by the scan's pages
            planted.extend({**p, "page": chosen.index(p["page"]) + 1} for p in found)
        layers = []
        for number in chosen:
            tilt = (rotate if number % 2 else -rotate) if rotate else 0.0
            size = images[number - 1].size
            layers.append([(c[0], *scan_layer.place(c, size, dpi, tilt, turn % 360), c[4] - c[2])
                           for c in chars[number - 1]])
        scan_layer.write_searchable_pdf(out_path, scanned, layers, dpi, quality)
    elif suffix == ".pdf":
        fixed = time.gmtime(0)
        scanned[0].save(out_path, "PDF", save_all=True, append_images=scanned[1:], resolution=float(dpi),
                        quality=quality, creationDate=fixed, modDate=fixed, producer="samples.scan", title="scan")
    elif suffix in (".tif", ".tiff"):
        scanned[0].save(out_path, "TIFF", save_all=True, append_images=scanned[1:], dpi=(dpi, dpi),
                        compression="tiff_deflate")
    elif suffix in (".jpg", ".jpeg"):
        scanned[0].save(out_path, "JPEG", quality=quality, dpi=(dpi, dpi))
    elif suffix == ".png":
        buffer = io.BytesIO()
        scanned[0].save(buffer, "PNG", dpi=(dpi, dpi), optimize=True)
        out_path.write_bytes(buffer.getvalue())
    else:
        raise ValueError(f"unknown scan format {suffix!r}: use .pdf, .tif, .png or .jpg")
    return out_path


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", type=Path, help="a form PDF with a text layer")
    ap.add_argument("out", type=Path, help="the scan to write: .pdf, .tif, .png or .jpg")
    ap.add_argument("--dpi", type=int, default=200)
    ap.add_argument("--no-seal", dest="seal", action="store_false")
    ap.add_argument("--rotate", type=float, default=1.0, help="degrees (alternating sign page by page)")
    ap.add_argument("--no-noise", dest="noise", action="store_false")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--grey", action="store_true")
    ap.add_argument("--pages", default="", help="1-based page numbers, comma separated (default: all)")
    ap.add_argument("--quality", type=int, default=70, help="JPEG quality")
    ap.add_argument("--grain", type=float, default=6.0, help="per-pixel noise (grey levels); 0: none")
    ap.add_argument("--turn", type=int, default=0, choices=(0, 90, 180, 270), help="degrees clockwise")
    ap.add_argument("--text-layer", action="store_true", help="searchable scan (.pdf): an invisible OCR layer")
    ap.add_argument("--wrong-digits", type=int, default=0, help="score numbers the text layer gets wrong")
    args = ap.parse_args(argv)
    pages = [int(p) for p in args.pages.split(",") if p.strip()] or None
    planted: list = []
    out = make_scan(args.src, args.out, args.dpi, seal=args.seal, rotate=args.rotate, noise=args.noise,
                    seed=args.seed, grey=args.grey, pages=pages, quality=args.quality, grain=args.grain,
                    turn=args.turn, text_layer=args.text_layer, wrong_digits=args.wrong_digits, planted=planted)
    print(f"{out} ({out.stat().st_size} bytes)" + "".join(f"; page {p['page']}: {p['image']} -> {p['layer']}"
                                                         for p in planted))


if __name__ == "__main__":
    main()
