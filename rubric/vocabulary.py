"""The header vocabulary: which words name which column role (data in vocabulary/header.toml).

A rubric may extend or replace a role's words in its ``[layout]`` section (``[layout.extend]``,
``[layout.replace]``); `Vocabulary.merged` gives the vocabulary a form of that rubric is read with.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

# Role names, in tie-break order (the first listed wins when two roles match words of one length).
ROLES = ("index", "category", "section", "label", "content", "max", "rules", "remark", "deduction", "self",
         "inspector", "score")
SIDES = ("self", "inspector")


class VocabularyError(ValueError):
    """A vocabulary or [layout] section that cannot be used; the message says what is wrong."""


_SPACE = re.compile(r"\s+")
DEFAULT_CACHED_FLAT = 1 << 16  # distinct cell texts remembered per process (a batch repeats its template's words)


@lru_cache(maxsize=DEFAULT_CACHED_FLAT)
def flat(text: str | None) -> str:
    """Given header text, return it width-folded (NFKC) with all whitespace removed. Layout asks this of every
    cell many times over (and of the same header words on every form), so each distinct text is folded once:
    the cache is the function itself, so a text seen before costs no Python call at all."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", text)) if text else ""


@dataclass(frozen=True)
class Vocabulary:
    """Words per role; `role_of` picks the role of the longest word a header text contains."""

    words: tuple[tuple[str, tuple[str, ...]], ...]  # (role, words) in ROLES order

    def __post_init__(self) -> None:
        # Longest words first, then role order: the first hit is the answer.
        order = {r: n for n, r in enumerate(ROLES)}
        pairs = [(flat(w), role) for role, ws in self.words for w in ws if flat(w)]
        object.__setattr__(self, "_pairs", tuple(sorted(pairs, key=lambda p: (-len(p[0]), order[p[1]]))))
        # Each side's words folded once (side_of runs on every header cell of every form).
        object.__setattr__(self, "_sides", tuple((n, side, tuple(fw for w in self.get(side) if (fw := flat(w))))
                                                 for n, side in enumerate(SIDES)))
        object.__setattr__(self, "_roles", {})  # header text -> role_of, per vocabulary (texts repeat per batch)

    def role_of(self, text: str | None) -> str | None:
        """Given a header cell's text, return the role its longest known word names, or None."""
        t = flat(text)
        if not t:
            return None
        known: dict[str, str | None] = self._roles  # type: ignore[attr-defined]
        if t in known:
            return known[t]
        found = next((role for word, role in self._pairs if word in t), None)  # type: ignore[attr-defined]
        if len(known) >= DEFAULT_CACHED_FLAT:
            known.clear()
        known[t] = found
        return found

    def side_of(self, text: str | None) -> str | None:
        """Given a header text, return self or inspector if it contains a word of that side, else None."""
        t = flat(text)
        best: tuple[int, int, str] | None = None
        for n, side, words in self._sides:  # type: ignore[attr-defined]
            for fw in words:
                if fw in t and (best is None or (len(fw), -n) > (best[0], best[1])):
                    best = (len(fw), -n, side)
        return best[2] if best else None

    def get(self, role: str) -> tuple[str, ...]:
        return next((ws for r, ws in self.words if r == role), ())

    def merged(self, layout: dict | None, where: str = "[layout]") -> Vocabulary:
        """Given a rubric's [layout] table ({"extend": {role: [words]}, "replace": {...}}), return this
        vocabulary with it applied; raise VocabularyError on an unknown key or role."""
        if not layout:
            return self
        unknown = sorted(set(layout) - {"extend", "replace"})
        if unknown:
            raise VocabularyError(f"{where}: unknown key {unknown[0]!r} (allowed: extend, replace)")
        words = {r: list(ws) for r, ws in self.words}
        for mode in ("replace", "extend"):
            for role, ws in (layout.get(mode) or {}).items():
                if role not in ROLES:
                    raise VocabularyError(f"{where}.{mode}: unknown role {role!r} (roles: {', '.join(ROLES)})")
                if not isinstance(ws, list) or not all(isinstance(w, str) and w.strip() for w in ws):
                    raise VocabularyError(f"{where}.{mode}.{role}: must be a list of non-empty strings")
                words[role] = list(ws) if mode == "replace" else words[role] + [w for w in ws if w not in words[role]]
        return Vocabulary(tuple((r, tuple(words[r])) for r in ROLES))


def parse_vocabulary(data: dict, where: str = "vocabulary") -> Vocabulary:
    """Given a vocabulary TOML as a dict ({"roles": {role: [words]}}), return it or raise VocabularyError."""
    roles = data.get("roles")
    if not isinstance(roles, dict):
        raise VocabularyError(f"{where}: no [roles] table")
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise VocabularyError(f"{where}: unknown role {unknown[0]!r} (roles: {', '.join(ROLES)})")
    return Vocabulary(tuple((r, tuple(roles.get(r, ()))) for r in ROLES))


@lru_cache(maxsize=1)
def default_vocabulary() -> Vocabulary:
    """Return the bundled header vocabulary (read once per process)."""
    path = Path(__file__).resolve().parent / "vocabulary" / "header.toml"
    return parse_vocabulary(tomllib.loads(path.read_text(encoding="utf-8-sig")), path.name)
