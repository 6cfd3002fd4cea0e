"""The review station in a real browser: `selfeval serve` started as a process, Debian's chromium driven by
Playwright (never a browser Playwright downloads). Log in, open a flagged form, correct a value, accept a finding,
see the status turn to 通过; j/k and ↓/↑ move between flagged items.

Chromium must be installed (apt-get install chromium): CI installs it, so there a missing one fails the test;
elsewhere the test is skipped with the reason."""

from __future__ import annotations

import os
import queue
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("starlette", reason="the web extra is not installed: pip install -e '.[web]'")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install -e '.[dev]'")

from cli import main  # noqa: E402
from extractor.store import load_form, open_db  # noqa: E402

from .conftest import stop_process  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FORMS = ROOT / "tests" / "fixtures" / "forms"
SAMPLES = ROOT / "samples" / "forms"
PASSWORD = "correct horse 9"
START_TIMEOUT_S = 60


def chromium_path() -> str:
    """Debian's chromium, or the test cannot run: fail in CI (it installs chromium), skip elsewhere."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed, and CI must run the browser test: apt-get install chromium")
    pytest.skip("chromium is not installed (apt-get install chromium): the browser test needs it")


def start_station(db: Path) -> tuple[subprocess.Popen, str]:
    """Start `selfeval serve --port 0` on db; return the process and the address it printed."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.Popen([sys.executable, "-m", "cli", "serve", "--db", str(db), "--port", "0"], cwd=ROOT,
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env, text=True,
                            encoding="utf-8")
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stderr], daemon=True).start()
    seen = []
    try:
        while True:
            line = lines.get(timeout=START_TIMEOUT_S)
            seen.append(line)
            m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
            if m:
                return proc, f"http://127.0.0.1:{m[1]}"
    except queue.Empty:
        proc.kill()
        pytest.fail(f"selfeval serve printed no address in {START_TIMEOUT_S} s: {''.join(seen)!r}")


@pytest.fixture(scope="module")
def station(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """A running station over a database of two flagged forms, with the account 张三."""
    inbox = tmp_path_factory.mktemp("inbox")
    shutil.copy(FORMS / "filled_errors.docx", inbox)  # over_cap on 3.1.2, total_mismatch
    shutil.copy(SAMPLES / "qh_combo_noinsp_errors_29.docx", inbox)  # negative_score 2.1.1, missing_score 7.1.1
    shutil.copy(SAMPLES / "qh_err_overcap_20.docx", inbox)  # its file is deleted below: no page image
    db = tmp_path_factory.mktemp("db") / "station.db"
    result = CliRunner().invoke(main, ["ingest", str(inbox), "--db", str(db)])
    assert result.exit_code == 0, result.output
    (inbox / "qh_err_overcap_20.docx").unlink()
    result = CliRunner().invoke(main, ["user", "add", "张三", "--password-stdin", "--db", str(db)],
                                input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    proc, base = start_station(db)
    try:
        yield base, db
    finally:
        stop_process(proc)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    path = chromium_path()
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=path)
        try:
            yield b
        finally:
            b.close()


def form_id(db: Path, name: str) -> int:
    con = open_db(db, readonly=True)
    try:
        return con.execute("SELECT id FROM forms WHERE source LIKE ?", [f"%{name}"]).fetchone()[0]
    finally:
        con.conn.close()


def log_in(page, base: str) -> None:
    page.goto(base + "/")
    assert page.url.startswith(base + "/login?next=")
    page.fill("input[name=name]", "张三")
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(base + "/")


def focused_card(page) -> str | None:
    return page.evaluate("() => { const c = document.activeElement.closest('.flagged-item'); return c && c.id; }")


def test_log_in_correct_a_value_accept_a_finding_and_see_the_form_pass(browser, station):
    base, db = station
    fid = form_id(db, "filled_errors.docx")
    page = browser.new_page()
    log_in(page, base)
    assert page.locator("header .who strong").inner_text() == "张三"

    page.click(f"a[href='/forms/{fid}']")
    page.wait_for_url(f"{base}/forms/{fid}")
    assert page.locator("#status").inner_text() == "需复核 flagged"

    card = page.locator("[id='item-3.1.2']")
    card.locator("input.value").fill("1")
    card.locator("form.correct input.why").fill("原件为 1")
    card.locator("form.correct button[type=submit]").click()
    page.wait_for_url(f"{base}/forms/{fid}#row-3.1.2")
    flash = page.locator(".flash-ok").inner_text()
    assert "已解决：超出分值 over_cap 3.1.2" in flash and "当前状态：需复核 flagged" in flash
    assert page.locator("[id='item-3.1.2']").count() == 0  # no longer among the flagged items

    finding = page.locator("li.finding", has_text="total_mismatch")
    finding.locator("input.why").fill("总分按原件")
    finding.locator("button[type=submit]").click()
    page.wait_for_url(f"{base}/forms/{fid}#form-level")
    assert page.locator("#status").inner_text() == "通过 ok"
    assert "已解决：总分不符 total_mismatch" in page.locator(".flash-ok").inner_text()

    con = open_db(db, readonly=True)
    try:
        form = load_form(con, fid)
        who = [r[0] for r in con.execute("SELECT who FROM corrections WHERE form_id = ? ORDER BY id", [fid])]
    finally:
        con.conn.close()
    assert form.status == "ok" and str(next(i for i in form.items if i.code == "3.1.2").self) == "1"
    assert who == ["张三", "张三"]

    page.goto(base + "/?status=ok")
    assert page.locator(f"a[href='/forms/{fid}']").count() == 1


def test_j_k_and_arrows_move_between_flagged_items_and_focus_the_value_field(browser, station):
    base, db = station
    fid = form_id(db, "qh_combo_noinsp_errors_29.docx")
    page = browser.new_page()
    log_in(page, base)
    page.goto(f"{base}/forms/{fid}")
    cards = page.locator(".flagged-item").evaluate_all("cs => cs.map(c => c.id)")
    assert cards == ["item-2.1.1", "item-7.1.1"]
    assert "j" in page.locator("#keys").inner_text() and "↓" in page.locator("#keys").inner_text()

    page.keyboard.press("j")
    assert focused_card(page) == "item-2.1.1"
    assert page.evaluate("() => document.activeElement.classList.contains('value')")
    page.keyboard.press("ArrowDown")  # inside the value field the arrows move on
    assert focused_card(page) == "item-7.1.1"
    page.keyboard.press("j")  # ... while j is typed as a letter
    assert focused_card(page) == "item-7.1.1"
    assert page.locator("[id='item-7.1.1'] input.value").input_value() == "j"
    page.locator("[id='item-7.1.1'] input.value").fill("")
    page.keyboard.press("Escape")
    assert focused_card(page) is None
    page.keyboard.press("k")
    assert focused_card(page) == "item-2.1.1"
    page.keyboard.press("ArrowUp")  # the first item stays the first
    assert focused_card(page) == "item-2.1.1"


def test_a_word_form_whose_file_is_gone_says_why_it_has_no_page_image(browser, station):
    base, db = station
    fid = form_id(db, "qh_err_overcap_20.docx")
    page = browser.new_page()
    log_in(page, base)
    page.goto(f"{base}/forms/{fid}")
    card = page.locator(".flagged-item").first
    assert card.locator("table.ev-row .ev-self").count() == 1  # the row drawn from the stored cells is there
    card.locator("p.note", has_text="无页面图像").wait_for(timeout=60_000)
    assert card.locator("img.page-image").count() == 0


def test_a_link_with_a_malformed_anchor_leaves_the_keys_working(browser, station):
    # "#%E0" is no percent-encoding a browser can decode: decoding it threw, and the keys were never bound.
    base, db = station
    fid = form_id(db, "qh_combo_noinsp_errors_29.docx")
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    log_in(page, base)
    page.goto(f"{base}/forms/{fid}#%E0")
    page.keyboard.press("j")
    assert focused_card(page) == "item-2.1.1"
    assert errors == []
