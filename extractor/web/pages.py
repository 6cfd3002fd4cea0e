"""The review station's pages (GET only; nothing here writes): the forms list, one form, the corrections log."""

from __future__ import annotations

from typing import Any

import sqlite_utils
from starlette.requests import Request
from starlette.responses import Response

from .. import review
from ..store import StoreError, load_form
from . import views
from .base import database, flash, form_exists, no_form, render, reviewer, station, store_problem


def forms_page(request: Request) -> Response:
    f = views.query_to_filter(dict(request.query_params))
    try:
        with database(request) as db:
            user = reviewer(request, db)
            rows, total, undated = views.db_to_rows(db, f)
    except StoreError as e:
        return store_problem(request, e)
    for text in f.problems:
        flash(request, "error", f"筛选条件未生效：{text}")
    if undated:
        flash(request, "info", f"{undated} 份表没有填表日期，不在日期范围筛选结果中。")
    folder = views.rows_to_folder(rows)
    return render(request, "forms.html", {"rows": rows, "total": total, "f": f, "user": user, "folder": folder,
                                          "statuses": [(s, views.STATUS_LABEL[s]) for s in views.STATUSES],
                                          "kinds": views.kind_options()}, 400 if f.problems else 200)


def form_response(request: Request, db: sqlite_utils.Database, form_id: int, user: str, status: int = 200,
                  retry: dict[str, str] | None = None) -> Response:
    """Given an open database and a form id, return the form page (retry: the correction a reviewer typed that
    was refused, shown again to fix)."""
    if not form_exists(db, form_id):
        return no_form(request, form_id)
    form = load_form(db, form_id)
    evidence = station(request).evidence.get(form_id, form, views.flagged_codes(form))
    page = views.form_to_page(form_id, form, evidence)
    page["superseded_by"] = db.execute("SELECT superseded_by FROM forms WHERE id = ?", [form_id]).fetchone()[0]
    return render(request, "form.html", {"p": page, "user": user, "retry": retry or {}}, status)


def form_page(request: Request) -> Response:
    form_id = request.path_params["form_id"]
    try:
        with database(request) as db:
            return form_response(request, db, form_id, reviewer(request, db))
    except StoreError as e:
        return store_problem(request, e)


def corrections_page(request: Request) -> Response:
    try:
        with database(request) as db:
            user = reviewer(request, db)
            rows: list[dict[str, Any]] = review.history(db)
    except StoreError as e:
        return store_problem(request, e)
    for r in rows:
        r["form_name"] = r.get("institution") or r.get("source") or f"表 {r['form_id']}"
        r["kind_label"] = views.kind_to_label(r["kind"]) if r.get("kind") else ""
        r["field_name"] = views.SIDE_NAME.get(r.get("field") or "", "")
    return render(request, "corrections.html", {"rows": rows, "user": user})


def evidence_image(request: Request) -> Response:
    """The page image of one flagged item's row of a Word form (LibreOffice converts the file once per form): asked
    for by the form page's <img> apart from the page, so the page never waits for the conversion."""
    form_id, code = request.path_params["form_id"], request.path_params["code"]
    try:
        with database(request) as db:
            reviewer(request, db)
            if not form_exists(db, form_id):
                return no_form(request, form_id)
            form = load_form(db, form_id)
    except StoreError as e:
        return store_problem(request, e)
    codes = views.flagged_codes(form)
    if code not in codes:
        return Response("该项目不在待复核项目中 not a flagged item", 404, media_type="text/plain; charset=utf-8")
    ev = station(request).evidence.get(form_id, form, codes, page_images=True).get(code)
    png = views.image_to_png(getattr(ev, "image", None))
    if png is None:
        note = getattr(ev, "note", None) or "无页面图像 no page image"
        return Response(note, 404, media_type="text/plain; charset=utf-8")
    return Response(png, media_type="image/png", headers={"cache-control": "private, max-age=3600"})
