"""selfeval's command line: thin click commands over the extractor library.

JSON goes to stdout, progress and summaries to stderr. Exit 0 ok, 1 some file failed, 2 usage error.
Data written to stdout (JSON, CSV, reports) is UTF-8 bytes whatever the console's code page; every text from a file
that reaches the terminal goes through extractor.terminal.safe; a problem a person can fix is one line, no traceback.
"""

from __future__ import annotations

import errno
import io
import os
import sys
from pathlib import Path

# numpy's OpenBLAS starts a thread per core as it is imported, which spins a while waiting for work that never
# comes: about a tenth of a CPU second of start-up, for every command that opens the store (sqlite-utils imports
# numpy). selfeval's matrices are small and it reads files in parallel in worker processes, which inherit this.
if not any(v in os.environ for v in ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")):
    os.environ["OPENBLAS_NUM_THREADS"] = "1"

import click  # noqa: E402 - after the environment above, which must come before anything imports numpy

import rubric as rubric_pkg
from extractor import __version__
from extractor.store_errors import DEFAULT_DB, DiskFull, StoreError
from extractor.terminal import safe, safe_json

db_option = click.option("--db", "db_path", default=DEFAULT_DB, show_default=True, type=click.Path(dir_okay=False),
                          help="SQLite database file.")
rubric_dir_option = click.option("--rubric-dir", "rubric_dirs", multiple=True, type=click.Path(file_okay=False),
                                 help=f"Extra folder of rubric TOML files (also ${rubric_pkg.RUBRIC_DIR_ENV}).")


def _rubrics(dirs: tuple[str, ...]) -> dict:
    try:
        return rubric_pkg.load_all(list(dirs))
    except rubric_pkg.RubricError as e:
        raise click.UsageError(safe(f"bad rubric: {e}")) from None


def _open(db_path: str, must_exist: bool = False, readonly: bool = False):
    """Given --db, return the store: read-only (mode=ro, never written) for the commands that only read, else for
    writing; with must_exist or readonly, a missing file is one line saying to ingest first."""
    from extractor.store import NoDatabase, open_db

    try:
        if must_exist and not readonly and not Path(db_path).is_file():
            raise NoDatabase(f"no database at {db_path}: run `selfeval ingest PATH --db {db_path}` first")
        return open_db(db_path, readonly=readonly)
    except StoreError as e:
        raise click.ClickException(safe(str(e))) from None


def _write_stdout(data: bytes) -> None:
    # Bytes go to the binary stream under sys.stdout, so `selfeval export > x.json` on a cp936 or cp1252 console
    # is UTF-8 all the same (a text write would encode in the console's code page, or fail).
    click.echo(data, nl=False)


def _write_file(path: str, data: bytes) -> None:
    try:
        Path(path).write_bytes(data)
    except OSError as e:
        raise _os_error(path, e) from None


def _os_error(path: str, e: OSError) -> click.ClickException:
    if e.errno == errno.ENOSPC:
        return click.ClickException(safe(f"the disk is full: cannot write {path}; free space and run it again"))
    return click.ClickException(safe(f"cannot write {path}: {e.strerror or e}: choose another -o file"))


class _Main(click.Group):
    """The command group: a StoreError raised anywhere below (a full disk midway through an ingest) ends the
    command with its one line and exit code 1, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except DiskFull as e:
            command = ctx.invoked_subcommand
            again = e if command == "ingest" else e.again("run the command again")
            raise click.ClickException(safe(str(again))) from None
        except StoreError as e:
            raise click.ClickException(safe(str(e))) from None


def _lenient_stdout() -> None:
    # A console whose code page has no Chinese (cp1252) would raise UnicodeEncodeError on a `show` line; an
    # escape is better than a traceback. stderr already works this way.
    if isinstance(sys.stdout, io.TextIOWrapper):
        try:
            sys.stdout.reconfigure(errors="backslashreplace")
        except (ValueError, io.UnsupportedOperation):
            pass  # a stream that was written to or cannot change: leave it


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="selfeval")
def main() -> None:
    """Read filled self-evaluation forms (自评表) into SQLite and check them."""
    _lenient_stdout()


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@db_option
@click.option("--rubric", "rubric_id", default=None, help="Force this rubric id instead of detecting it.")
@rubric_dir_option
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Worker processes (default: all cores).")
@click.option("--timeout", type=click.IntRange(min=1), default=120, show_default=True,
              help="Seconds one file (or one archive or e-mail being unpacked) may take before it is failed and its "
                   "worker killed. A scan gets --page-timeout more per page, counted before reading from the file's "
                   "header: every frame of an image, every page of a PDF whose first pages have no text.")
@click.option("--page-timeout", type=click.IntRange(min=0), default=30, show_default=True,
              help="Seconds added to --timeout for each scanned page (at most 40 pages count).")
@click.option("--max-memory", default="2G", show_default=True, metavar="SIZE",
              help="Memory one file's reading may use (its worker and the programs it starts, LibreOffice "
                   "included), e.g. 1500M or 2G; over it the worker is killed and the file failed.")
@click.option("--retry-failed", is_flag=True,
              help="Read again the files whose stored record failed (done by itself when the selfeval version or "
                   "the installed extras changed since).")
def ingest(paths: tuple[str, ...], db_path: str, rubric_id: str | None, rubric_dirs: tuple[str, ...],
           jobs: int | None, timeout: int, page_timeout: int, max_memory: str, retry_failed: bool) -> None:
    """Read forms (files or folders) into the database.

    Example: selfeval ingest inbox/ --db selfeval.db
    """
    from extractor.supervisor import long_lived

    with long_lived():  # the imports, the rubrics and the store's schema: kept for the whole run
        from extractor.ingest import ingest as run
        from extractor.ingest import parse_size

        try:
            memory = parse_size(max_memory)
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="--max-memory") from None

        rubrics = _rubrics(rubric_dirs)
        if rubric_id is not None and rubric_id not in rubrics:
            raise click.UsageError(safe(f"unknown rubric {rubric_id!r}; known: {', '.join(sorted(rubrics))}"))
        db = _open(db_path)

    tty = sys.stderr.isatty()
    done = [0]

    def progress(source: str, outcome: str, detail: str | None) -> None:
        # On a terminal: a running count and every file; elsewhere only what needs a look.
        done[0] += 1
        # Names and reasons come from the files (an attachment's name is the sender's): escaped, never raw.
        line = f"{outcome:8} {safe(source)}" + (f": {safe(detail)}" if detail else "")
        if tty:
            click.echo(f"\r[{done[0]}] {line}", err=True)
        elif outcome in ("failed", "skipped", "flagged"):
            click.echo(line, err=True)

    summary = run(db, list(paths), rubrics, rubric_id, progress, jobs=jobs, timeout=timeout, max_memory=memory,
                  page_timeout=page_timeout, retry_failed=retry_failed)
    click.echo(summary.line(), err=True)
    sys.exit(1 if summary.failed else 0)


def _output_format(output: str | None, fmt: str | None, by_suffix: dict[str, str], default: str) -> str:
    """Given -o, --format and the formats by file extension, return the format: --format, else the extension's,
    else (stdout) the default. A contradiction or an unknown extension without --format is a usage error."""
    suffix = Path(output).suffix.lower() if output else ""
    inferred = by_suffix.get(suffix)
    if fmt and inferred and fmt != inferred:
        raise click.UsageError(safe(f"-o {output} is a {suffix} file but --format is {fmt}: drop --format, or give "
                                    f"-o a {fmt} file name"))
    if fmt or not output:
        return fmt or default
    if inferred is None:
        known = ", ".join(by_suffix)
        raise click.UsageError(safe(f"cannot tell the format of -o {output} from {suffix or 'no extension'}: name "
                                    f"it {known}, or add --format {'|'.join(dict.fromkeys(by_suffix.values()))}"))
    return inferred


def _date(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A YYYY-MM-DD option, checked: a real date, else a usage error saying what it takes."""
    import datetime
    import re

    if value is None:
        return None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
            raise ValueError(value)
        return datetime.date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise click.BadParameter(safe(f"{value!r} is no date: give it as YYYY-MM-DD, e.g. 2024-05-01")) from None


@main.command()
@db_option
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default=None,
              help="json (default) or csv; without it, -o's extension (.json, .csv) decides.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write here, not stdout (.json or .csv: the format follows the extension).")
@click.option("--all", "include_all", is_flag=True, help="Include superseded forms.")
@click.option("--source", default=None, help="Only forms whose source contains this.")
def export(db_path: str, fmt: str | None, output: str | None, include_all: bool, source: str | None) -> None:
    """Export every form as JSON (a list, one object per file) or CSV (one row per item).

    Example: selfeval export -o forms.csv
    """
    from extractor.export import db_to_records, records_to_file, records_to_stream
    from extractor.review import correction_count
    from extractor.store import form_ids

    fmt = _output_format(output, fmt, {".json": "json", ".csv": "csv"}, "json")
    db = _open(db_path, readonly=True)
    n = correction_count(db, form_ids(db, include_all, source))
    if n:
        click.echo(f"{n} correction(s) apply to the exported forms", err=True)
    records = db_to_records(db, include_all, source)  # streamed: each form written as soon as it is read
    if output:
        try:
            written = records_to_file(records, fmt, output)
        except OSError as e:
            raise _os_error(output, e) from None
        click.echo(f"wrote {written} form(s) to {safe(output)}", err=True)
    else:
        stdout = click.get_binary_stream("stdout")
        records_to_stream(records, fmt, stdout)
        stdout.flush()


def _one_form(db, key: str) -> int:
    from extractor.listing import candidates_to_lines
    from extractor.store import find_form

    ids = find_form(db, key)
    if not ids:
        raise click.ClickException(safe(f"没有匹配的表 no form matches {key!r}: see `selfeval list` for ids, "
                                        f"institutions and sources"))
    if len(ids) > 1:
        lines = [safe(f"{key!r} 匹配 {len(ids)} 份表 matches {len(ids)} forms: give the id (or more of the source "
                      f"or the name)")] + candidates_to_lines(db, ids)
        raise click.ClickException("\n".join(lines))
    return ids[0]


@main.command()
@click.argument("key")
@db_option
def show(key: str, db_path: str) -> None:
    """Show one form's items and discrepancies as a table (KEY: id, source, or part of the source or of the
    institution's name). Items with open findings are marked !, places are 1-based.

    Example: selfeval show 海北州
    """
    from extractor.show import form_to_text
    from extractor.store import load_form

    db = _open(db_path, readonly=True)
    fid = _one_form(db, key)
    click.echo(form_to_text(load_form(db, fid), fid))


@main.command("list")
@db_option
@click.option("--status", type=click.Choice(["ok", "flagged", "failed"]), default=None,
              help="Only forms of this status.")
@click.option("--all", "include_all", is_flag=True, help="Include superseded forms.")
@click.option("--json", "as_json", is_flag=True, help="JSON to stdout instead of a table.")
def list_forms(db_path: str, status: str | None, include_all: bool, as_json: bool) -> None:
    """List the forms: id, institution, status, open errors and warnings, what they are, source.

    Example: selfeval list --status flagged
    """
    from extractor.listing import db_to_listing, listing_to_lines

    db = _open(db_path, readonly=True)
    rows = db_to_listing(db, status, include_all)
    if as_json:
        _write_stdout((safe_json(rows, indent=2) + "\n").encode("utf-8"))
        return
    for line in listing_to_lines(rows):
        click.echo(line)
    click.echo(f"共 {len(rows)} 份表 {len(rows)} form(s)", err=True)


@main.command()
@db_option
@click.option("--format", "fmt", type=click.Choice(["html", "md", "xlsx"]), default=None,
              help="md (default), html or xlsx; without it, -o's extension (.md, .html/.htm, .xlsx) decides.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write here, not stdout (.md, .html, .htm or .xlsx: the format follows the extension).")
@click.option("--only-flagged", is_flag=True, help="Only forms that need a look.")
@click.option("--source", default=None, help="Only forms whose source contains this.")
@click.option("--since", default=None, callback=_date, metavar="YYYY-MM-DD",
              help="Only forms filled (填表日期, the fill date) on or after this date; forms with no fill date are "
                   "left out.")
@click.option("--ingested-since", default=None, callback=_date, metavar="YYYY-MM-DD",
              help="Only forms ingested on or after this date (UTC).")
@click.option("--page-images", is_flag=True,
              help="HTML: also picture the flagged rows of Word forms, converted to PDF by LibreOffice (slow: "
                   "seconds per form). PDFs and scans always get their rows' pictures.")
def report(db_path: str, fmt: str | None, output: str | None, only_flagged: bool, source: str | None,
           since: str | None, ingested_since: str | None, page_images: bool) -> None:
    """Report on every form: a summary table, then each flagged form's discrepancies (in HTML with a picture of
    every flagged row). Tables, rows and columns count from 1 in reports, from 0 in JSON and SQLite (pages from 1
    everywhere).

    Example: selfeval report -o report.html --since 2024-05-01
    """
    from extractor import report as rep
    from extractor.export import chunks_to_file
    from extractor.review import correction_count
    from extractor.store import form_ids

    fmt = _output_format(output, fmt, {".md": "md", ".html": "html", ".htm": "html", ".xlsx": "xlsx"}, "md")
    if fmt == "xlsx" and not output:
        raise click.UsageError("--format xlsx needs -o FILE.xlsx")
    db = _open(db_path, readonly=True)
    filters = {"source": source, "since": since, "only_flagged": only_flagged, "ingested_since": ingested_since}
    n = correction_count(db, form_ids(db, False, source, since, ingested_since))
    if n:
        click.echo(f"{n} correction(s) apply to the reported forms", err=True)
    # Streamed: the forms are read in batches, never all held; the HTML page is written section by section.
    if fmt == "xlsx":
        try:
            count = rep.db_to_xlsx(db, output, **filters)
        except OSError as e:
            raise _os_error(output, e) from None
        click.echo(f"wrote {count} form(s) to {safe(output)}", err=True)
        return
    if fmt == "html":
        count, chunks = rep.db_to_html(db, page_images=page_images, **filters)
    else:
        count, text = rep.db_to_md(db, **filters)
        chunks = iter([text])
    data = (chunk.encode("utf-8") for chunk in chunks)
    if output:
        try:
            chunks_to_file(data, output)
        except OSError as e:
            raise _os_error(output, e) from None
        click.echo(f"wrote {count} form(s) to {safe(output)}", err=True)
    else:
        stdout = click.get_binary_stream("stdout")
        for chunk in data:
            stdout.write(chunk)
        stdout.write(b"\n")
        stdout.flush()


@main.group()
def review() -> None:
    """Correct extracted values, accept discrepancies, undo either (kept in the corrections table)."""


def _print_change(change) -> None:
    """Print what a review action did to stderr: created and resolved discrepancies, then the status."""
    from extractor.listing import status_to_text
    from extractor.review import SIDE_NAME

    click.echo(safe(change.message), err=True)
    for word, found in (("新增 created", change.created), ("解决 resolved", change.resolved)):
        for d in found:
            side = f" {SIDE_NAME.get(d.side, d.side)}" if d.side else ""
            click.echo(safe(f"{word} {d.kind} {d.item or '—'}{side}: {d.message}"), err=True)
    click.echo(safe(f"状态 status {status_to_text(change.form.status)}"), err=True)


@review.command("set")
@click.argument("key")
@click.argument("item")
@click.option("--self", "self_value", default=None, help="The correct self score.")
@click.option("--inspector", "inspector_value", default=None, help="The correct inspector score.")
@click.option("--why", default="", help="Why the value is corrected (required unless --force).")
@click.option("--who", default=None, help="Who corrects it (default: the OS user).")
@click.option("--force", is_flag=True, help="Record a value above the max or below 0, or one without --why.")
@db_option
def review_set(key: str, item: str, self_value: str | None, inspector_value: str | None, why: str,
               who: str | None, force: bool, db_path: str) -> None:
    """Correct an item's value (KEY: id, source, or part of it or of the institution); the extracted value is kept.
    Setting the extracted value again withdraws the correction.

    Example: selfeval review set 3 3.1.2 --self 1 --why "misread: the form says 1"
    """
    from extractor.review import ReviewError, check_value, set_value
    from extractor.store import load_form

    if self_value is None and inspector_value is None:
        raise click.UsageError("give --self VALUE and/or --inspector VALUE")
    db = _open(db_path, must_exist=True)
    fid = _one_form(db, key)
    given = [(f, v) for f, v in (("self", self_value), ("inspector", inspector_value)) if v is not None]
    try:
        # Both values are checked before either is written: a refused second one must not leave the first alone.
        form = load_form(db, fid, effective=False)
        it = next((i for i in form.items if i.code == item), None)
        for field, value in given:
            if it is not None:
                check_value(it, field, value, why, force)
        for field, value in given:
            _print_change(set_value(db, fid, item, field, value, why, who, force))
    except ReviewError as e:
        raise click.ClickException(safe(str(e))) from None


@review.command("accept")
@click.argument("key")
@click.argument("kind")
@click.option("--item", default=None, help="The item code (required for kinds about items; omit for form-level).")
@click.option("--why", default="", help="Why the discrepancy is accepted (required).")
@click.option("--who", default=None, help="Who accepts it (default: the OS user).")
@db_option
def review_accept(key: str, kind: str, item: str | None, why: str, who: str | None, db_path: str) -> None:
    """Accept a discrepancy as it now reads, so it no longer flags the form; when its values change, it comes back.

    Example: selfeval review accept 3 over_cap --item 3.1.2 --why "confirmed with the institution"
    """
    from extractor.review import ReviewError, accept

    db = _open(db_path, must_exist=True)
    fid = _one_form(db, key)
    try:
        _print_change(accept(db, fid, kind, item, why, who))
    except ReviewError as e:
        raise click.ClickException(safe(str(e))) from None


@review.command("undo")
@click.argument("correction_id", type=int)
@click.option("--why", default="", help="Why it is withdrawn.")
@click.option("--who", default=None, help="Who withdraws it (default: the OS user).")
@db_option
def review_undo(correction_id: int, why: str, who: str | None, db_path: str) -> None:
    """Withdraw a correction or an acceptance by its number (see `review history`); the row is kept, marked.

    Example: selfeval review undo 7 --why "wrong form"
    """
    from extractor.review import ReviewError, undo

    db = _open(db_path, must_exist=True)
    try:
        _print_change(undo(db, correction_id, who, why))
    except ReviewError as e:
        raise click.ClickException(safe(str(e))) from None


@review.command("list")
@click.argument("key", required=False)
@db_option
def review_list(key: str | None, db_path: str) -> None:
    """List every correction and acceptance as JSON, newest first, withdrawn ones with undone_at set.

    Example: selfeval review list
    """
    from extractor.review import history

    db = _open(db_path, readonly=True)
    rows = history(db, _one_form(db, key) if key else None)
    # JSON escapes C0 controls itself; safe_json also writes C1 controls and bidi overrides as \\u escapes.
    _write_stdout((safe_json(rows, indent=2) + "\n").encode("utf-8"))


@review.command("history")
@click.argument("key", required=False)
@db_option
def review_history(key: str | None, db_path: str) -> None:
    """Show every correction and acceptance, newest first, withdrawn ones marked 已撤销.

    Example: selfeval review history 海北州
    """
    from extractor.review import history, row_to_text

    db = _open(db_path, readonly=True)
    rows = history(db, _one_form(db, key) if key else None)
    if not rows:
        click.echo("没有更正或接受 no corrections or acceptances", err=True)
    for r in rows:
        undone = (f"  （已撤销 withdrawn {r['undone_at']} {r['undone_by']}" + (f"：{r['undo_why']}" if r["undo_why"]
                                                                              else "") + "）") if r["undone_at"] else ""
        click.echo(safe(f"#{r['id']}  表 {r['form_id']} {r['institution'] or r['source']}  {row_to_text(r)}  "
                        f"{r['who']} {r['at']}：{r['why'] or '—'}{undone}"))


@main.command("metadata")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to FILE (default: stdout).")
@db_option
def metadata(output: str | None, db_path: str) -> None:
    """Write Datasette metadata for the database: `datasette selfeval.db -m metadata.json`."""
    import json

    from extractor.datasette import database_to_metadata

    data = (json.dumps(database_to_metadata(db_path), ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    if output:
        _write_file(output, data)
        click.echo(f"wrote {safe(output)}: run `datasette {safe(db_path)} -m {safe(output)}`", err=True)
    else:
        _write_stdout(data)


@main.group("rubric")
def rubric_group() -> None:
    """List, show and check rubrics (bundled, --rubric-dir, $SELFEVAL_RUBRIC_DIR)."""


@rubric_group.command("list")
@rubric_dir_option
def rubric_list(rubric_dirs: tuple[str, ...]) -> None:
    """List the known rubrics.

    Example: selfeval rubric list
    """
    for r in _rubrics(rubric_dirs).values():
        total = f"{r.total} points" if r.total is not None else "no points"
        click.echo(f"{safe(r.id)}\t{len(r.categories)} categories, {len(r.items)} items, {total}\t{safe(r.title)}")


@rubric_group.command("show")
@click.argument("rubric_id")
@rubric_dir_option
def rubric_show(rubric_id: str, rubric_dirs: tuple[str, ...]) -> None:
    """Show one rubric's items as a table.

    Example: selfeval rubric show qinghai-2024
    """
    rubrics = _rubrics(rubric_dirs)
    if rubric_id not in rubrics:
        raise click.UsageError(safe(f"unknown rubric {rubric_id!r}; known: {', '.join(sorted(rubrics))}"))
    r = rubrics[rubric_id]
    cats = {c.code: c.name for c in r.categories}
    click.echo(safe(f"{r.id}: {r.title} ({r.scoring})"))
    for it in r.items:
        mx = "" if it.max is None else str(it.max)
        click.echo(f"{safe(it.code):8} {mx:>4}  " + safe(f"{cats[it.category]} / {it.section or '-'} / {it.label}"))


@rubric_group.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
def rubric_check(files: tuple[str, ...]) -> None:
    """Validate rubric TOML files; print one precise message per bad file.

    Example: selfeval rubric check my-province-2025.toml
    """
    bad = 0
    for f in files:
        try:
            r = rubric_pkg.load(f)
            click.echo(safe(f"ok  {f}: {r.id}, {len(r.items)} items"))
        except rubric_pkg.RubricError as e:
            bad += 1
            click.echo(safe(f"bad {e}"), err=True)
    sys.exit(1 if bad else 0)



# --- the review station and its accounts ------------------------------------------------------------------


@main.command()
@db_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but loopback needs reviewer accounts (selfeval user add).")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port to listen on (0: any free one; the address is printed).")
def serve(db_path: str, host: str, port: int) -> None:
    """Review in the browser: forms, flagged items with their evidence, corrections (Chinese pages).

    Example: selfeval serve --db selfeval.db   (then open http://127.0.0.1:8765/)
    """
    try:
        from extractor.web import serve as web_serve
    except ImportError as e:
        raise click.ClickException(f"the review station needs the web extra ({e.name} is missing): "
                                   f"pip install 'selfeval[web]'") from None
    db = _open(db_path, must_exist=True)
    try:
        web_serve.check_can_serve(db, host)
    except web_serve.ServeError as e:
        raise click.ClickException(safe(str(e))) from None
    finally:
        db.conn.close()
    try:
        web_serve.run(db_path, host, port, lambda line: click.echo(safe(line), err=True))
    except web_serve.ServeError as e:
        raise click.ClickException(safe(str(e))) from None


@main.group("user")
def user_group() -> None:
    """Reviewer accounts for `selfeval serve` (hashed passwords in the database)."""


@user_group.command("add")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@db_option
def user_add(name: str, password_stdin: bool, db_path: str) -> None:
    """Add a reviewer account; the password is asked twice (or read from stdin).

    Example: selfeval user add 张三
    """
    from extractor.accounts import AccountError, add_account, check_name

    try:
        name = check_name(name)
    except AccountError as e:
        raise click.UsageError(safe(str(e))) from None
    db = _open(db_path, must_exist=True)  # before the password: a mistyped --db must not become a new file
    if password_stdin:
        password = click.get_text_stream("stdin").readline().rstrip("\r\n")
    else:
        password = click.prompt(f"密码 password for {safe(name)}", hide_input=True, confirmation_prompt=
                                "再输入一次 repeat", err=True)
    try:
        add_account(db, name, password)
    except AccountError as e:
        raise click.ClickException(safe(str(e))) from None
    click.echo(f"已添加复核人 {safe(name)} (account added)", err=True)


@user_group.command("list")
@db_option
def user_list(db_path: str) -> None:
    """List reviewer accounts as JSON (names and when they were added; never passwords).

    Example: selfeval user list
    """
    from extractor.accounts import list_accounts

    db = _open(db_path, readonly=True)
    rows = [{"name": a.name, "created_at": a.created_at} for a in list_accounts(db)]
    _write_stdout((safe_json(rows, indent=2) + "\n").encode("utf-8"))


@user_group.command("remove")
@click.argument("name")
@db_option
def user_remove(name: str, db_path: str) -> None:
    """Remove a reviewer account (its corrections stay, with its name).

    Example: selfeval user remove 张三
    """
    from extractor.accounts import AccountError, remove_account

    db = _open(db_path, must_exist=True)
    try:
        remove_account(db, name)
    except AccountError as e:
        raise click.ClickException(safe(str(e))) from None
    click.echo(f"已删除复核人 {safe(name)} (account removed)", err=True)


if __name__ == "__main__":
    main()
