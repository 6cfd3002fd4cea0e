"""Screenshots of the review station for docs/screenshots: the forms list and a flagged form's page; and two cards
of the HTML report (a PDF row cropped from the page, a Word row drawn from the stored cells).

    python bench/screenshots.py [--out docs/screenshots]

Ingests a few bundled forms into a temporary database, adds the account 张三, starts `selfeval serve` on a free
port, logs in with Debian's chromium (Playwright, executable_path) and saves PNGs (each kept under 300 KB).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
FORMS = [ROOT / "tests" / "fixtures" / "forms" / "filled_errors.docx",
         ROOT / "tests" / "fixtures" / "forms" / "national_filled.docx",
         ROOT / "tests" / "fixtures" / "forms" / "filled_pdf.pdf",
         *(ROOT / "samples" / "forms" / n for n in ("qh_pdf_lo_errors_41.pdf", "qh_combo_noinsp_errors_29.docx",
                                                    "qh_merged_01.docx", "qh_err_totalmismatch_24.docx",
                                                    "broken_truncated_33.docx"))]
PASSWORD = "screenshots-only"
MAX_BYTES = 300_000
WIDTH = 1366


def run(*args: str, stdin: str | None = None) -> None:
    subprocess.run([sys.executable, "-m", "cli", *args], cwd=ROOT, input=stdin, text=True, check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start(db: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "cli", "serve", "--db", str(db), "--port", "0"], cwd=ROOT,
                            stderr=subprocess.PIPE, text=True, encoding="utf-8")
    for line in proc.stderr:
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        if m:
            return proc, f"http://127.0.0.1:{m[1]}"
    raise SystemExit("selfeval serve did not start")


def save(page, path: Path, full_page: bool = False, clip_height: int | None = None) -> None:
    """Screenshot the page to path; a full page taller than clip_height is cut there."""
    kwargs = {"full_page": full_page}
    if clip_height:
        height = min(clip_height, page.evaluate("document.documentElement.scrollHeight"))
        kwargs = {"clip": {"x": 0, "y": 0, "width": WIDTH, "height": height}, "full_page": True}
    page.screenshot(path=str(path), **kwargs)
    size = path.stat().st_size
    print(f"{path}: {size // 1000} KB")
    if size > MAX_BYTES:
        raise SystemExit(f"{path} is {size} bytes, over {MAX_BYTES}: take a smaller clip")


def report_cards(browser, db: Path, tmp: Path, out: Path) -> None:
    """Screenshot the HTML report's first card of a PDF form (a cropped row) and of a Word form (a drawn row)."""
    report = tmp / "report.html"
    run("report", "--db", str(db), "-o", str(report))
    page = browser.new_page(viewport={"width": 1200, "height": 900}, locale="zh-CN")
    page.goto(report.as_uri())
    card = "xpath=ancestor::div[contains(concat(' ', @class, ' '), ' card ')][1]"
    for name, first in (("report-card-pdf.png", 'img[src^="data:image/png"]'), ("report-card-word.png", "table.ev-row")):
        path = out / name
        page.locator(first).first.locator(card).screenshot(path=str(path))
        print(f"{path}: {path.stat().st_size // 1000} KB")
    page.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="selfeval-shots-") as tmp:
        inbox, db = Path(tmp) / "inbox", Path(tmp) / "shots.db"
        inbox.mkdir()
        for f in FORMS:
            shutil.copy(f, inbox / f.name)
        run("ingest", str(inbox), "--db", str(db))
        run("user", "add", "张三", "--password-stdin", "--db", str(db), stdin=PASSWORD + "\n")
        proc, base = start(db)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=shutil.which("chromium"))
                page = browser.new_page(viewport={"width": WIDTH, "height": 900}, locale="zh-CN")
                page.goto(base + "/login")
                page.fill("input[name=name]", "张三")
                page.fill("input[name=password]", PASSWORD)
                page.click("form[action='/login'] button[type=submit]")
                page.wait_for_url(base + "/")
                page.goto(base + "/")  # without the login flash
                save(page, args.out / "forms-list.png", clip_height=900)
                href = page.locator("tr", has_text="qh_pdf_lo_errors_41.pdf").locator("a").first.get_attribute("href")
                page.goto(base + href)
                page.keyboard.press("j")  # the first flagged item outlined, its value field focused
                page.evaluate("window.scrollTo(0, 0)")
                save(page, args.out / "form-page.png", clip_height=1500)
                page.goto(base + "/")
                href = page.locator("tr", has_text="filled_errors.docx").locator("a").first.get_attribute("href")
                page.goto(base + href)
                # the page image comes apart (LibreOffice converts the file): wait for it or for its note
                page.wait_for_function("() => [...document.querySelectorAll('img.page-image')]"
                                       ".every(i => i.complete && i.naturalWidth > 0)", timeout=120_000)
                save(page, args.out / "form-page-word.png", clip_height=1400)
                report_cards(browser, db, Path(tmp), args.out)
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
