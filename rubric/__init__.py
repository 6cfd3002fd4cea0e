"""Rubrics as data: TOML files describing a self-evaluation form's items.

A rubric file has top-level keys ``id``, ``title``, ``scoring`` and optionally
``total``, ``judgments`` and ``judgment_aliases``; then ``[[categories]]`` (大项:
code, name, optional max), optional ``[[groups]]`` (分值 cells: id, max) and
``[[items]]`` (小项: code, label, optional section (中项), max, group, category,
description, scoring). See README.md for a complete example.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from .vocabulary import Vocabulary, VocabularyError, default_vocabulary

__all__ = [
    "Category",
    "Item",
    "Rubric",
    "RubricError",
    "bundled_dir",
    "load",
    "load_all",
    "RUBRIC_DIR_ENV",
    "Vocabulary",
    "default_vocabulary",
]

RUBRIC_DIR_ENV = "SELFEVAL_RUBRIC_DIR"
SCORINGS = ("points", "judgment", "judgment_or_points")
DEFAULT_JUDGMENTS = ("符合", "基本符合", "不符合")

_TOP_KEYS = {"id", "title", "total", "scoring", "judgments", "judgment_aliases", "categories", "groups", "items",
             "layout"}
_CATEGORY_KEYS = {"code", "name", "max"}
_GROUP_KEYS = {"id", "max"}
_ITEM_KEYS = {"code", "label", "section", "max", "group", "category", "description", "scoring"}


class RubricError(ValueError):
    """A rubric file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    max: Decimal | None


@dataclass(frozen=True)
class Item:
    code: str
    label: str
    category: str  # category code
    section: str | None  # 中项
    max: Decimal | None
    group: str | None  # 分值 group id
    scoring: str  # points | judgment | judgment_or_points
    description: str = ""


@dataclass
class Rubric:
    id: str
    title: str
    scoring: str
    total: Decimal | None
    categories: list[Category]
    items: list[Item]
    groups: dict[str, Decimal] = field(default_factory=dict)
    judgments: tuple[str, ...] = DEFAULT_JUDGMENTS
    judgment_aliases: dict[str, str] = field(default_factory=dict)
    path: str = ""
    # The header vocabulary forms of this rubric are read with: the default, with the rubric's [layout] applied.
    vocabulary: Vocabulary = field(default_factory=default_vocabulary)

    def category(self, code: str) -> Category:
        return next(c for c in self.categories if c.code == code)

    def item(self, code: str) -> Item:
        return next(i for i in self.items if i.code == code)

    def group_items(self, group: str) -> list[Item]:
        return [i for i in self.items if i.group == group]

    @property
    def has_points(self) -> bool:
        return any(i.max is not None for i in self.items)


def _dec(value, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RubricError(f"{where}: max must be a number, got {value!r}")
    d = Decimal(str(value))
    if d < 0:
        raise RubricError(f"{where}: max must not be negative, got {value}")
    return d


def _check_keys(table: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise RubricError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")


def _text(table: dict, key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise RubricError(f"{where}: {key} is missing or empty")
    return value.strip()


def parse(data: dict, path: str = "<rubric>") -> Rubric:
    """Given a rubric's TOML as a dict, return the validated Rubric or raise RubricError."""
    name = os.path.basename(path)
    _check_keys(data, _TOP_KEYS, name)
    rid = _text(data, "id", name)
    title = data.get("title", rid)
    scoring = data.get("scoring", "points")
    if scoring not in SCORINGS:
        raise RubricError(f"{name}: scoring must be one of {', '.join(SCORINGS)}, got {scoring!r}")
    total = _dec(data["total"], f"{name}: total") if "total" in data else None
    judgments = tuple(data.get("judgments", DEFAULT_JUDGMENTS))
    aliases = dict(data.get("judgment_aliases", {}))
    for alias, target in aliases.items():
        if target not in judgments:
            raise RubricError(f"{name}: judgment alias {alias!r} maps to {target!r}, which is not in judgments")

    categories: list[Category] = []
    for n, cat in enumerate(data.get("categories", []), 1):
        where = f"{name}: categories[{n}]"
        _check_keys(cat, _CATEGORY_KEYS, where)
        code = _text(cat, "code", where)
        if any(c.code == code for c in categories):
            raise RubricError(f"{where}: duplicate category code {code!r}")
        cmax = _dec(cat["max"], where) if "max" in cat else None
        categories.append(Category(code, _text(cat, "name", where), cmax))
    if not categories:
        raise RubricError(f"{name}: no [[categories]]")

    groups: dict[str, Decimal] = {}
    for n, grp in enumerate(data.get("groups", []), 1):
        where = f"{name}: groups[{n}]"
        _check_keys(grp, _GROUP_KEYS, where)
        gid = _text(grp, "id", where)
        if gid in groups:
            raise RubricError(f"{where}: duplicate group id {gid!r}")
        groups[gid] = _dec(grp.get("max"), where)

    items: list[Item] = []
    codes: set[str] = set()
    cat_codes = {c.code for c in categories}
    for n, it in enumerate(data.get("items", []), 1):
        where = f"{name}: items[{n}]"
        _check_keys(it, _ITEM_KEYS, where)
        code = _text(it, "code", where)
        where = f"{name}: item {code}"
        if code in codes:
            raise RubricError(f"{where}: duplicate item code {code!r}")
        codes.add(code)
        label = _text(it, "label", where)
        category = str(it.get("category") or code.split(".")[0])
        if category not in cat_codes:
            raise RubricError(f"{where}: category {category!r} is not one of the [[categories]] codes")
        group = it.get("group")
        if group is not None and group not in groups:
            raise RubricError(f"{where}: group {group!r} is not one of the [[groups]] ids")
        imax = _dec(it["max"], where) if "max" in it else None
        item_scoring = it.get("scoring", scoring)
        if item_scoring not in SCORINGS:
            raise RubricError(f"{where}: scoring must be one of {', '.join(SCORINGS)}, got {item_scoring!r}")
        if item_scoring == "points" and imax is None:
            raise RubricError(f"{where}: a points item needs a max")
        items.append(Item(code, label, category, it.get("section"), imax, group, item_scoring,
                          it.get("description", "")))
    if not items:
        raise RubricError(f"{name}: no [[items]]")

    try:
        vocabulary = default_vocabulary().merged(data.get("layout"), f"{name}: [layout]")
    except VocabularyError as e:
        raise RubricError(str(e)) from None
    rubric = Rubric(rid, title, scoring, total, categories, items, groups, judgments, aliases, path, vocabulary)
    _check_sums(rubric, name)
    return rubric


def _check_sums(r: Rubric, name: str) -> None:
    for gid, gmax in r.groups.items():
        members = r.group_items(gid)
        if not members:
            raise RubricError(f"{name}: group {gid!r} has no items")
        got = sum((i.max or Decimal(0) for i in members), Decimal(0))
        if got != gmax:
            raise RubricError(f"{name}: items of group {gid!r} add up to {got}, but the group's max is {gmax}")
    for cat in r.categories:
        members = [i for i in r.items if i.category == cat.code]
        if not members:
            raise RubricError(f"{name}: category {cat.code} ({cat.name}) has no items")
        if cat.max is not None:
            got = sum((i.max or Decimal(0) for i in members), Decimal(0))
            if got != cat.max:
                raise RubricError(f"{name}: items of category {cat.code} ({cat.name}) add up to {got}, "
                                  f"but its max is {cat.max}")
    if r.total is not None:
        got = sum((c.max or Decimal(0) for c in r.categories), Decimal(0))
        if got != r.total:
            raise RubricError(f"{name}: categories add up to {got}, but total is {r.total}")


def load(path: str | os.PathLike) -> Rubric:
    """Given a rubric TOML file, return the validated Rubric or raise RubricError."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8-sig"))  # Notepad saves UTF-8 with a BOM
    except OSError as e:
        raise RubricError(f"{p.name}: cannot read: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise RubricError(f"{p.name}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as e:
        raise RubricError(f"{p.name}: not valid TOML: {e}") from None
    return parse(data, str(p))


def bundled_dir() -> Path:
    return Path(__file__).resolve().parent


def load_all(extra_dirs: list[str] | None = None) -> dict[str, Rubric]:
    """Given optional extra folders, return every rubric by id: bundled ones, then the
    folders of $SELFEVAL_RUBRIC_DIR (os.pathsep-separated), then extra_dirs; later ids win."""
    dirs: list[Path] = [bundled_dir()]
    env = os.environ.get(RUBRIC_DIR_ENV)
    if env:
        dirs += [Path(d) for d in env.split(os.pathsep) if d]
    dirs += [Path(d) for d in extra_dirs or []]
    out: dict[str, Rubric] = {}
    for d in dirs:
        if not d.is_dir():
            raise RubricError(f"{d}: rubric folder does not exist")
        for f in sorted(d.glob("*.toml")):
            r = load(f)
            out[r.id] = r
    return out
