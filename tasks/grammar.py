"""The grammar of the templates' phrasings: questions read back into template parameters.

Every paraphrase a template renders is a format string (``forms(...)`` in the template class).
:func:`form_pattern` compiles one into a regular expression over *normalised* text (NFKC,
lower case, single spaces, no final ``?``/``.``/``!``); articles are interchangeable (``the``,
``a``, ``an``) and may be omitted; each ``{placeholder}`` becomes a bounded named group whose
character class depends on what it holds (:data:`SLOT_CLASSES`). A template reads the matched
placeholder strings back into parameters with :meth:`Template.read`, using the resolvers of
:class:`ReadContext` (category names through the scene's label map, singular or plural;
frame numbers; option lists), which raise :class:`Unreadable` with a kind and a sentence.

Nothing here backtracks without bound: the text is capped at :data:`MAX_TEXT_CHARS` before any
pattern runs, and every group has a length bound.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from geoenv.errors import GeoenvError
from geoenv.scene import STRUCTURAL_LABELS, Scene

#: Longest question text read (characters, after normalisation); longer is ``unparsed``.
MAX_TEXT_CHARS = 4000

#: Why a text is not read: no phrasing matched; a named object or category is not in the scene;
#: a name matches several objects; a frame is not in the scene (or not among those given); the
#: options are not the template's; a value (number, option) is malformed.
UnreadableKind = Literal[
    "unparsed",
    "referent_missing",
    "referent_ambiguous",
    "frame_missing",
    "bad_options",
    "bad_value",
]


#: Order in which a failure is reported when several readings were tried and none read: the
#: most informative kind first.
UNREADABLE_RANK: dict[str, int] = {
    "referent_ambiguous": 0,
    "referent_missing": 1,
    "frame_missing": 2,
    "bad_options": 3,
    "bad_value": 4,
    "unparsed": 5,
}


class Unreadable(GeoenvError):
    """A text (or one placeholder of it) that does not read as a question of a template."""

    def __init__(self, kind: UnreadableKind, reason: str) -> None:
        self.kind = kind
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Reading:
    """What a matched phrasing means: the template parameters, the options the text offers (in
    its order; empty for free answers), and for texts whose answer depends on the phrasing (a
    yes/no comparison asked either way round) the map from the template's answer to the
    text's canonical answer string."""

    params: dict[str, Any]
    choices: list[str] = field(default_factory=list)
    answer: Callable[[Any], str] | None = None


def yes_no(params: dict[str, Any], flip: bool) -> Reading:
    """Reading of a yes/no question whose text asks the template's proposition (answer value
    ``True`` = yes) or, with ``flip``, its negation (operands swapped xor comparator
    inverted)."""
    return Reading(params, [], lambda v: "yes" if bool(v) != flip else "no")


def identity(value: Any) -> str:
    """Answer map of a question asked the template's way: the answer value as it is."""
    return str(value)


def other_of(x: str, y: str) -> Callable[[Any], str]:
    """Answer map of a two-way question asked the inverted way (the farther instead of the
    nearer, the turn back instead of the turn): the other of ``x`` and ``y``."""
    return lambda v: y if str(v) == x else x


# ------------------------------------------------------------------------- normalisation
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]")
_SPACE = re.compile(r"\s+")
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


def normalize(text: str) -> str:
    """The form in which texts and phrasings are compared: NFKC, straight quotes, lower case,
    whitespace runs to one space, no leading/trailing space and no final ``?``, ``.``, ``!``.

    Raises :class:`Unreadable` for a text over :data:`MAX_TEXT_CHARS` or with control or
    invisible formatting characters (tab and newlines count as spaces)."""
    if not isinstance(text, str):
        raise Unreadable("unparsed", f"question text must be a string, not {type(text).__name__}")
    if len(text) > 4 * MAX_TEXT_CHARS:
        raise Unreadable("unparsed", f"text of {len(text):,} characters > {MAX_TEXT_CHARS:,}")
    t = _unify(text)
    bad = _CONTROL.search(t)  # before spaces are folded: some control characters are spaces
    if bad:
        raise Unreadable(
            "unparsed", f"text holds a control character U+{ord(bad.group()):04X} at {bad.start()}"
        )
    t = _squash(t)
    if not t:
        raise Unreadable("unparsed", "empty question text")
    if len(t) > MAX_TEXT_CHARS:
        raise Unreadable("unparsed", f"text of {len(t):,} characters > {MAX_TEXT_CHARS:,}")
    return t


def _unify(text: str) -> str:
    return unicodedata.normalize("NFKC", text).translate(_QUOTES)


def _squash(text: str) -> str:
    return _SPACE.sub(" ", text).strip().lower().rstrip("?.! ").strip()


def fold(text: str) -> str:
    """:func:`normalize` without its checks: NFKC, straight quotes, lower case, single spaces,
    no leading/trailing space, no final ``?``, ``.``, ``!`` (phrasings, and texts compared
    with rendered ones such as geo references)."""
    return _squash(_unify(text))


def drop_article(text: str) -> str:
    """A folded text without its leading ``the`` / ``a`` / ``an``."""
    return _ARTICLE_HEAD.sub("", text)


def norm_name(text: str) -> str:
    """A name as compared with category labels: lower case, ``_`` as space, single spaces, no
    leading article."""
    return drop_article(_SPACE.sub(" ", text.replace("_", " ")).strip().lower())


_ARTICLE_HEAD = re.compile(r"^(?:the|an?)\s+")

# ------------------------------------------------------------------------- compiling forms
#: Character class and length bound of a placeholder, by placeholder name. Names not listed
#: use ``"name"``. A template may override entries through ``Template.slot_classes``.
SLOT_CLASSES: dict[str, str] = {
    "name": r"[\w'&/.()-](?:[\w' &/.()-]{0,78}[\w'.)])?",
    "options": r"[\w' &/.(),:;+-]{1,400}",
    "number": r"[-+]?\d{1,12}(?:\.\d{1,12})?",
    "frame": r"\d{1,9}",
    "word": r"[\w-]{1,40}",
    "phrase": r"[\w' ,&/.()-]{1,120}",
}
#: Default class of common placeholder names.
DEFAULT_SLOT_KIND: dict[str, str] = {
    "opts": "options",
    "t": "frame",
    "i": "frame",
    "j": "frame",
    "o0": "word",
    "o1": "word",
    "d": "phrase",
    "x": "name",
    "y": "name",
}

_ARTICLE = re.compile(r"\b(?:the|an?) ")


def _literal(text: str) -> str:
    """Regex of a literal part of a form (already normalised): articles interchangeable and
    optional, spaces flexible."""
    out, pos = [], 0
    for m in _ARTICLE.finditer(text):
        out.append(re.escape(text[pos : m.start()]))
        out.append(r"(?:(?:the|an?) )?")
        pos = m.end()
    out.append(re.escape(text[pos:]))
    return "".join(out).replace(r"\ ", " ")


@lru_cache(maxsize=4096)
def form_pattern(form: str, kinds: tuple[tuple[str, str], ...] = ()) -> re.Pattern[str]:
    """Compiled pattern of one phrasing (normalised the way :func:`normalize` treats texts).

    ``kinds`` maps placeholder names to keys of :data:`SLOT_CLASSES` or to a regular
    expression of their own (defaults: :data:`DEFAULT_SLOT_KIND`, else ``name``); a class must
    bound its length. A placeholder used twice must match the same text twice."""
    kind_of = dict(DEFAULT_SLOT_KIND) | dict(kinds)
    norm = fold(form)
    parts: list[str] = []
    seen: set[str] = set()
    for lit, name, spec, conv in string.Formatter().parse(norm):
        parts.append(_literal(lit))
        if name is None:
            continue
        if spec or conv or not name.isidentifier():
            raise ValueError(f"form {form!r}: placeholder {{{name}}} must be a plain name")
        if name in seen:
            parts.append(f"(?P={name})")
            continue
        seen.add(name)
        kind = kind_of.get(name, "name")
        parts.append(f"(?P<{name}>{SLOT_CLASSES.get(kind, kind)})")
    return re.compile("".join(parts))


# ------------------------------------------------------------------------- resolving slots
class ReadContext:
    """Resolves placeholder text against one scene (and the frames a question comes with)."""

    def __init__(self, scene: Scene, frames: Sequence[int] | None = None) -> None:
        self.scene = scene
        self.frames = None if frames is None else [int(f) for f in frames]
        self._names = _label_names(scene)

    # -- categories and objects
    def category(self, text: str, role: str = "category") -> str:
        """The category label a name (singular or plural) denotes; ``referent_missing`` when
        the scene has none."""
        key = norm_name(text)
        lab = self._names.get(key)
        if lab is None:
            raise Unreadable("referent_missing", f"{role}: no {key!r} in scene {self.scene.id!r}")
        return lab

    def object(self, text: str, role: str = "object") -> str:
        """The id of the single object a category name denotes; ``referent_ambiguous`` when
        the category has several instances (or is room structure)."""
        lab = self.category(text, role)
        ids = self.scene.labels[lab]
        if lab in STRUCTURAL_LABELS:
            raise Unreadable("referent_ambiguous", f"{role}: {lab!r} is room structure")
        if len(ids) != 1:
            raise Unreadable(
                "referent_ambiguous",
                f"{role}: {norm_name(text)!r} names {len(ids)} objects ({', '.join(ids[:8])})",
            )
        return ids[0]

    def objects_in_order(self, ids: Sequence[str]) -> list[str]:
        """Object ids of unique categories in the order generation enumerates them (by
        category label, the order of ``unique_ids``): the canonical order of an unordered
        pair or set named in any order by the text."""
        return sorted(ids, key=lambda i: self.scene[i].label)

    # -- frames
    def frame(self, text: str, role: str = "frame") -> int:
        """A frame index; ``frame_missing`` when the scene has no such frame, or when the
        question comes with frames and this one is not among them."""
        try:
            idx = int(text)
        except ValueError:
            raise Unreadable("bad_value", f"{role}: {text!r} is not a frame number") from None
        if idx not in _frame_indices(self.scene):
            raise Unreadable("frame_missing", f"{role}: no frame {idx} in scene {self.scene.id!r}")
        if self.frames is not None and idx not in self.frames:
            raise Unreadable(
                "frame_missing", f"{role}: frame {idx} is not among the given frames {self.frames}"
            )
        return idx

    # -- options and values
    @staticmethod
    def options(text: str, allowed: Sequence[str], role: str = "options") -> list[str]:
        """Split ``a or b`` / ``a, b, or c`` / ``a, b or c`` into options, each of which must be
        one of ``allowed`` (compared normalised) and distinct; returned as spelled in
        ``allowed``."""
        items = split_options(text)
        by_norm = {norm_name(a): a for a in allowed}
        out = []
        for it in items:
            a = by_norm.get(norm_name(it))
            if a is None:
                raise Unreadable("bad_options", f"{role}: {it!r} is not one of {list(allowed)}")
            out.append(a)
        if len(set(out)) != len(out):
            raise Unreadable("bad_options", f"{role}: repeated option in {text!r}")
        return out

    @staticmethod
    def choice(text: str, allowed: Sequence[str], role: str = "option") -> str:
        """One option among ``allowed`` (compared normalised)."""
        by_norm = {norm_name(a): a for a in allowed}
        a = by_norm.get(norm_name(text))
        if a is None:
            raise Unreadable("bad_options", f"{role}: {text!r} is not one of {list(allowed)}")
        return a

    @staticmethod
    def number(text: str, role: str = "value") -> float:
        try:
            return float(text)
        except ValueError:
            raise Unreadable("bad_value", f"{role}: {text!r} is not a number") from None


_OPT_SPLIT = re.compile(r"\s*,\s*(?:or\s+)?|\s+or\s+")


def split_options(text: str) -> list[str]:
    """The items of an option list ``a or b`` / ``a, b, or c`` / ``a, b or c``."""
    return [p for p in _OPT_SPLIT.split(text.strip()) if p]


def _label_names(scene: Scene) -> dict[str, str]:
    """Normalised singular and plural names -> label, memoised on the scene. A singular name
    wins over another label's plural of the same spelling."""
    from geoenv.tasks.base import memo, name_of, plural

    def make() -> dict[str, str]:
        out: dict[str, str] = {}
        for lab in scene.labels:
            out.setdefault(norm_name(plural(name_of(lab))), lab)
        for lab in scene.labels:
            out[norm_name(name_of(lab))] = lab
        return out

    return memo(scene, ("grammar_label_names",), make)


def _frame_indices(scene: Scene) -> frozenset[int]:
    from geoenv.tasks.base import memo

    return memo(scene, ("grammar_frames",), lambda: frozenset(f.index for f in scene.frames))


def slot_kinds(kinds: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """Hashable form of a template's ``slot_classes`` for :func:`form_pattern`."""
    return tuple(sorted(kinds.items()))


__all__ = [
    "MAX_TEXT_CHARS",
    "SLOT_CLASSES",
    "UNREADABLE_RANK",
    "ReadContext",
    "Reading",
    "Unreadable",
    "UnreadableKind",
    "drop_article",
    "fold",
    "form_pattern",
    "identity",
    "norm_name",
    "normalize",
    "other_of",
    "slot_kinds",
    "split_options",
    "yes_no",
]
