"""The review station's POSTs that change the database, each through extractor.review as on the command line:
correct a value, accept a finding, undo a correction. A refused change is a Chinese message, status 400 and
nothing written; a done one redirects (303) to the page, with a flash of what it created and resolved."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from .. import review
from ..form import Form
from ..store import StoreError, load_form
from . import views
from .base import checked_post, database, flash, form_exists, no_form, redirect, reviewer, store_problem
from .pages import form_response


def change_to_flash(change: review.Change) -> str:
    """Given what a review action did, return the flash message: review's own line, every discrepancy it created
    and resolved (by kind and item), and the form's status now."""
    lines = [change.message]
    lines += [f"新出现：{views.discrepancy_to_text(d)}" for d in change.created]
    lines += [f"已解决：{views.discrepancy_to_text(d)}" for d in change.resolved]
    if not change.created and not change.resolved:
        lines.append("问题未变化。")
    lines.append(f"当前状态：{views.STATUS_LABEL.get(change.form.status, change.form.status)}")
    return "\n".join(lines)


def stale(db, form_id: int, item: str | None, kind: str | None, seen: str | None) -> Form | None:
    """Given a change as posted with the token of what its page showed (seen), return the effective form when that
    no longer matches (someone changed the item or the finding since the page was opened), else None. A post
    without a token (a script) is checked by the review rules alone."""
    if not seen:
        return None
    form = load_form(db, form_id)
    return form if views.seen_token(form, item, kind) != seen else None


def anchor(form: Form, code: str | None) -> str:
    """Given the form after a change and the item it was about, return where the page opens: the item's card while
    it is flagged, else its row in the table; the form-level findings for a form-level change."""
    if not code:
        return "#form-level"
    return f"#item-{code}" if code in views.flagged_codes(form) else f"#row-{code}"


async def post_set(request: Request) -> Response:
    data = await checked_post(request)
    return data if isinstance(data, Response) else await run_in_threadpool(_set, request, data)


def _set(request: Request, data: dict[str, str]) -> Response:
    form_id = request.path_params["form_id"]
    item, field, value, why = (data.get(k, "").strip() for k in ("item", "field", "value", "why"))
    try:
        with database(request, write=True) as db:
            user = reviewer(request, db)
            if not form_exists(db, form_id):
                return no_form(request, form_id)
            retry = {"item": item, "field": field, "value": value, "why": why}
            now = stale(db, form_id, item, None, data.get("seen"))
            if now is not None:
                it = next((i for i in now.items if i.code == item), None)
                values = "、".join(f"{views.SIDE_NAME[s]} {views.value_to_text(getattr(it, s))}"
                                  for s in ("self", "inspector")) if it else "无此项"
                typed = f"{views.SIDE_NAME.get(field, field)} {value or '空'}"
                flash(request, "error", f"未保存 {item} 的更正（{typed}）：你打开页面之后，此项已被更改（现在 {values}）。"
                                        "请核对现在的值后再保存。")
                return form_response(request, db, form_id, user, 409, retry=retry)
            if not value and data.get("force") != "1":
                # An empty field is as easily a slip as a meaning: blanking a score takes 强制, as on the CLI it
                # takes an explicit --self "".
                flash(request, "error", f"未保存 {item} 的更正：分数为空。要把此项改为空白，请勾选「强制」。")
                return form_response(request, db, form_id, user, 400, retry=retry)
            try:
                change = review.set_value(db, form_id, item, field, value, why, who=user,
                                          force=data.get("force") == "1")
            except review.ReviewError as e:
                flash(request, "error", f"未保存 {item} 的更正：{e}")
                return form_response(request, db, form_id, user, 400, retry=retry)
    except StoreError as e:
        return store_problem(request, e)
    flash(request, "ok", change_to_flash(change))
    return redirect(request, f"/forms/{form_id}{anchor(change.form, item)}")


async def post_accept(request: Request) -> Response:
    data = await checked_post(request)
    return data if isinstance(data, Response) else await run_in_threadpool(_accept, request, data)


def _accept(request: Request, data: dict[str, str]) -> Response:
    form_id = request.path_params["form_id"]
    kind, why = data.get("kind", "").strip(), data.get("why", "").strip()
    item = data.get("item", "").strip() or None
    try:
        with database(request, write=True) as db:
            user = reviewer(request, db)
            if not form_exists(db, form_id):
                return no_form(request, form_id)
            if stale(db, form_id, item, kind, data.get("seen")) is not None:
                flash(request, "error", f"未接受 {views.kind_to_label(kind)}：你打开页面之后，此项或此问题已被更改。"
                                        "请核对现在的情况后再接受。")
                return form_response(request, db, form_id, user, 409)
            try:
                change = review.accept(db, form_id, kind, item, why, who=user)
            except review.ReviewError as e:
                flash(request, "error", f"未接受 {views.kind_to_label(kind)}：{e}")
                return form_response(request, db, form_id, user, 400)
    except StoreError as e:
        return store_problem(request, e)
    flash(request, "ok", change_to_flash(change))
    return redirect(request, f"/forms/{form_id}{anchor(change.form, item)}")


async def post_undo(request: Request) -> Response:
    data = await checked_post(request)
    return data if isinstance(data, Response) else await run_in_threadpool(_undo, request, data)


def _undo(request: Request, data: dict[str, str]) -> Response:
    cid = request.path_params["correction_id"]
    try:
        with database(request, write=True) as db:
            user = reviewer(request, db)
            try:
                change = review.undo(db, cid, who=user, why=data.get("why", "").strip())
            except review.ReviewError as e:
                flash(request, "error", f"未撤销第 {cid} 条：{e}")
                return redirect(request, "/corrections")
    except StoreError as e:
        return store_problem(request, e)
    flash(request, "ok", change_to_flash(change))
    return redirect(request, "/corrections")


