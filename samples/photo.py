"""Phone photos of form pages: the page on a desk, keystoned, rotated, lit from one side, saved as JPEG.

usage: python -m samples.photo SRC.pdf OUT.(pdf|jpg|png) [--dpi 150] [--pages 2,3] [--seed 0]
                               [--keystone 0.03] [--rotation 2.0] [--shading 0.35] [--quality 75] [--no-seal]
                               [--fill 0.02]

``make_photo(page, out, seed, keystone=0.03, rotation=2.0, shading=0.35, quality=75)`` takes one page image (a
scan page or a rendered page, PIL) and writes its photo (.jpg at `quality`, or .png); ``photo_image`` returns
the photo and the page's corners in it without writing. Per photo:

- desk: the page lies on a darker textured surface (wood grain or a grey desk, chosen by the seed) with a
  margin of `margin` (share of the page's size) around it;
- keystone: one edge (top, bottom, left or right, chosen by the seed) is `keystone` shorter than the opposite
  one (0.06: 6 %), as a phone held at a slant sees it;
- rotation: the page turned by `rotation` degrees (sign by the seed) on the desk;
- shading: the light falls off to one side (a smooth ramp in a direction chosen by the seed, losing up to
  `shading` of the brightness) with a slight vignette;
- camera: a slight blur and sensor noise, then JPEG;
- fill (optional): the photo cropped to the largest upright rectangle inside the paper, `fill` of the page's
  size further in, as a phone held close takes it: paper everywhere, no desk, the paper's edge out of the frame
  (ValueError when that would cut the page's content: a form's margins allow a few degrees and per cent).

The corners (top-left, top-right, bottom-right, bottom-left of the page, in photo pixels) are the truth of where
the page lies; the page's content is never cut, so the photo of a generated form keeps the truth of its source
form (samples.generate). ``make_photos(pdf, out, dpi, ...)`` photographs a PDF's pages (each first scanned with
samples.scan's seal and paper noise, untilted) into a PDF of JPEG photos or one .jpg/.png page. Deterministic
for given arguments.
"""

from __future__ import annotations

import argparse
import io
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

Corners = list[tuple[float, float]]


def desk(width: int, height: int, rng: np.random.RandomState) -> np.ndarray:
    """Return a desk surface (RGB float32, 0-255) of the given size: wood grain or a mottled grey desk."""
    wood = rng.rand() < 0.6
    if wood:  # grain: noise stretched along one axis, plus fine noise
        grain = rng.normal(0.0, 1.0, (max(height // 6, 2), max(width // 90, 2))).astype(np.float32)
        base = np.array([(120, 88, 60), (96, 70, 50), (138, 104, 72)][rng.randint(3)], dtype=np.float32)
    else:
        grain = rng.normal(0.0, 1.0, (max(height // 60, 2), max(width // 60, 2))).astype(np.float32)
        base = np.array([(92, 94, 98), (70, 72, 76), (110, 108, 104)][rng.randint(3)], dtype=np.float32)
    field = cv2.resize(grain, (width, height), interpolation=cv2.INTER_CUBIC)
    fine = rng.normal(0.0, 1.0, (height, width)).astype(np.float32)
    texture = 1.0 + 0.10 * field + 0.04 * fine
    return base[np.newaxis, np.newaxis, :] * texture[..., np.newaxis]


def page_corners(
    size: tuple[int, int],
    canvas: tuple[int, int],
    rng: np.random.RandomState,
    keystone: float,
    rotation: float,
    shift: float,
) -> np.ndarray:
    """Given the page's size, the photo's size, the keystone (share), the rotation (degrees) and the room to
    shift the page (pixels), return the page's corners in the photo (tl, tr, br, bl)."""
    w, h = size
    cx, cy = canvas[0] / 2 + rng.uniform(-shift, shift), canvas[1] / 2 + rng.uniform(-shift, shift)
    quad = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]], dtype=np.float64)
    edge = rng.randint(4)  # the edge that is shorter: 0 top, 1 right, 2 bottom, 3 left
    inset = keystone / 2
    if edge == 0:
        quad[0, 0] += inset * w
        quad[1, 0] -= inset * w
    elif edge == 2:
        quad[3, 0] += inset * w
        quad[2, 0] -= inset * w
    elif edge == 1:
        quad[1, 1] += inset * h
        quad[2, 1] -= inset * h
    else:
        quad[0, 1] += inset * h
        quad[3, 1] -= inset * h
    angle = np.radians(rotation if rng.rand() < 0.5 else -rotation)
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return quad @ turn.T + np.array([cx, cy])


def light_field(width: int, height: int, rng: np.random.RandomState, shading: float) -> np.ndarray:
    """Return the light over the photo (float32, at most 1): a smooth ramp losing `shading` of the brightness
    towards one side (direction by the seed), and a slight vignette."""
    theta = rng.uniform(0, 2 * np.pi)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    u = ((xs / width - 0.5) * np.cos(theta) + (ys / height - 0.5) * np.sin(theta)) / 0.71 + 0.5  # 0..1 roughly
    ramp = np.clip(u, 0.0, 1.0)
    ramp = ramp * ramp * (3 - 2 * ramp)  # smoothstep: the fall-off is gentle at both ends
    r2 = ((xs / width - 0.5) ** 2 + (ys / height - 0.5) ** 2) / 0.5
    return (1.0 - shading * ramp) * (1.0 - 0.08 * r2)


def photo_image(
    page: Image.Image,
    seed: int = 0,
    keystone: float = 0.03,
    rotation: float = 2.0,
    shading: float = 0.35,
    margin: float = 0.10,
    blur: float = 0.6,
    noise: float = 3.0,
    fill: float | None = None,
) -> tuple[Image.Image, Corners]:
    """Given a page image, return its phone photo (RGB) and the page's corners in it (tl, tr, br, bl), for the
    keystone (share of an edge), rotation (degrees), shading (share of the light lost towards one side), margin
    (desk around the page, share of its size), blur (sigma, pixels) and sensor noise (grey levels). With fill
    (a share of the page's size), the photo is cropped to inside the paper (``fill_frame``): the corners then
    lie outside it."""
    rng = np.random.RandomState(seed)
    rgb = np.asarray(page.convert("RGB"), dtype=np.float32)
    h, w = rgb.shape[:2]
    canvas = (int(round(w * (1 + 2 * margin))), int(round(h * (1 + 2 * margin))))
    corners = page_corners((w, h), canvas, rng, keystone, rotation, shift=0.25 * margin * min(w, h))
    # The page's outline: pixel centres sit at whole coordinates, so its outer edge half a pixel beyond them.
    source = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32) - 0.5
    matrix = cv2.getPerspectiveTransform(source, corners.astype(np.float32))
    warped = cv2.warpPerspective(rgb, matrix, canvas, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    mask = cv2.warpPerspective(
        np.ones((h, w), np.float32),
        matrix,
        canvas,
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )[..., np.newaxis]
    photo = warped * mask + desk(*canvas, rng) * (1.0 - mask)
    photo *= light_field(*canvas, rng, shading)[..., np.newaxis]
    if blur:
        photo = cv2.GaussianBlur(photo, (0, 0), blur)
    if noise:
        photo += rng.normal(0.0, noise, photo.shape[:2]).astype(np.float32)[..., np.newaxis]
    if fill is not None:
        (x0, y0, x1, y1) = fill_frame(corners, fill * min(w, h))
        ys, xs = np.nonzero(rgb.min(axis=2) < 160)  # the page's ink: the crop must keep all of it
        if len(xs):
            box = np.array([[xs.min(), ys.min()], [xs.max(), ys.max()], [xs.min(), ys.max()], [xs.max(), ys.min()]],
                           np.float32)
            ink = cv2.perspectiveTransform(box[np.newaxis], matrix)[0]
            if ink[:, 0].min() < x0 or ink[:, 1].min() < y0 or ink[:, 0].max() >= x1 or ink[:, 1].max() >= y1:
                raise ValueError("fill would cut the page's content: less keystone, rotation or fill")
        photo, corners = photo[y0:y1, x0:x1], corners - np.array([x0, y0], np.float64)
    image = Image.fromarray(np.clip(photo + 0.5, 0, 255).astype(np.uint8))
    return image, [(float(x), float(y)) for x, y in corners]


def fill_frame(corners: np.ndarray, inset: float) -> tuple[int, int, int, int]:
    """Given the page's corners in a photo (tl, tr, br, bl) and an inset (pixels), return the upright rectangle
    (x0, y0, x1, y1, pixels; x1 and y1 excluded) inside the page's quadrilateral, inset further in: each corner
    is on the inside of the two sides of the page it lies near (the sides' nearer ends bound it)."""
    tl, tr, br, bl = corners
    x0, x1 = max(tl[0], bl[0]) + inset, min(tr[0], br[0]) - inset
    y0, y1 = max(tl[1], tr[1]) + inset, min(bl[1], br[1]) - inset
    if x1 - x0 < 16 or y1 - y0 < 16:
        raise ValueError(f"fill {inset:.0f} px leaves no page inside the paper")
    return int(np.ceil(x0)), int(np.ceil(y0)), int(np.floor(x1)), int(np.floor(y1))


def save_photo(image: Image.Image, out: Path, quality: int = 75) -> Path:
    """Write a photo as .jpg/.jpeg (at quality, no dpi: a phone's photo states none that fits a page) or .png."""
    out.parent.mkdir(parents=True, exist_ok=True)
    suffix = out.suffix.lower()
    if suffix in (".jpg", ".jpeg"):
        image.save(out, "JPEG", quality=quality)
    elif suffix == ".png":
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        out.write_bytes(buffer.getvalue())
    else:
        raise ValueError(f"unknown photo format {suffix!r}: use .jpg or .png")
    return out


def make_photo(
    page: Image.Image,
    out: Path | str,
    seed: int = 0,
    keystone: float = 0.03,
    rotation: float = 2.0,
    shading: float = 0.35,
    quality: int = 75,
    **options,
) -> Corners:
    """Given a page image, write its phone photo to out (.jpg at quality, or .png) and return the page's corners
    in it (tl, tr, br, bl, photo pixels). options: margin, blur, noise (see photo_image)."""
    image, corners = photo_image(page, seed, keystone, rotation, shading, **options)
    save_photo(image, Path(out), quality)
    return corners


def make_photos(
    pdf_path: Path | str,
    out_path: Path | str,
    dpi: int = 150,
    seed: int = 0,
    keystone: float | list[float] = 0.03,
    rotation: float | list[float] = 2.0,
    shading: float = 0.35,
    quality: int = 75,
    seal: bool = True,
    pages: list[int] | None = None,
    fill: float | None = None,
) -> list[Corners]:
    """Given a form PDF (with a text layer), photograph its pages (scanned at dpi by samples.scan: seal, paper
    noise, no tilt) and write them to out_path: .pdf (the JPEG photos, one a page) or .jpg/.png (the first of
    `pages`). keystone and rotation may be lists, one value per photographed page; fill crops each photo to
    inside the paper (photo_image). Return each page's corners."""
    from samples.scan import rasterise, scan_page, score_spots

    pdf_path, out_path = Path(pdf_path), Path(out_path)
    images = rasterise(pdf_path, dpi)
    spots = score_spots(pdf_path)
    chosen = pages or list(range(1, len(images) + 1))
    photos, corners = [], []
    for i, number in enumerate(chosen):
        scanned = scan_page(images[number - 1], dpi, spots[number - 1], number, seal, 0.0, True, seed, grain=3.0)
        k = keystone[i % len(keystone)] if isinstance(keystone, list) else keystone
        r = rotation[i % len(rotation)] if isinstance(rotation, list) else rotation
        image, found = photo_image(scanned, seed * 1000 + number, k, r, shading, fill=fill)
        photos.append(image)
        corners.append(found)
    suffix = out_path.suffix.lower()
    if suffix == ".pdf":
        out_path.parent.mkdir(parents=True, exist_ok=True)
        fixed = time.gmtime(0)
        photos[0].save(
            out_path,
            "PDF",
            save_all=True,
            append_images=photos[1:],
            resolution=float(dpi),
            quality=quality,
            creationDate=fixed,
            modDate=fixed,
            producer="samples.photo",
            title="photos",
        )
    else:
        save_photo(photos[0], out_path, quality)
        corners = corners[:1]
    return corners


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", type=Path, help="a form PDF with a text layer")
    ap.add_argument("out", type=Path, help="the photos to write: .pdf (all pages), .jpg or .png (one page)")
    ap.add_argument("--dpi", type=int, default=150, help="the page's resolution in the photo")
    ap.add_argument("--pages", default="", help="1-based page numbers, comma separated (default: all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keystone", type=float, default=0.03, help="share one edge is shorter (0.06: 6%%)")
    ap.add_argument("--rotation", type=float, default=2.0, help="degrees")
    ap.add_argument("--shading", type=float, default=0.35, help="share of the light lost towards one side")
    ap.add_argument("--quality", type=int, default=75, help="JPEG quality")
    ap.add_argument("--no-seal", dest="seal", action="store_false")
    ap.add_argument("--fill", type=float, default=None,
                    help="crop the photo to inside the paper, this share of the page's size further in (no desk)")
    args = ap.parse_args(argv)
    pages = [int(p) for p in args.pages.split(",") if p.strip()] or None
    corners = make_photos(
        args.src,
        args.out,
        args.dpi,
        args.seed,
        args.keystone,
        args.rotation,
        args.shading,
        args.quality,
        args.seal,
        pages,
        args.fill,
    )
    print(f"{args.out} ({args.out.stat().st_size} bytes)")
    for n, quad in enumerate(corners, 1):
        print(f"  page {n}: corners " + " ".join(f"({x:.1f},{y:.1f})" for x, y in quad))


if __name__ == "__main__":
    main()
