"""Answer extraction and parsing of free-form model responses (no scoring here).

A response is reduced to one *answer span*, then the span is read according to the question's
answer type. Every step is bounded: the response is searched with ``str.rfind`` and linear
regex scans (no backtracking over the whole text), and the span itself is capped at
``max_span`` characters, so a 1 MB response costs a few milliseconds at most.

Extraction precedence (:func:`extract`):

1. the content of the LAST complete ``<answer>...</answer>`` pair (tags case-insensitive);
2. else the content of the LAST complete ``\\boxed{...}`` (nested braces allowed);
3. else the final non-empty line (its last ``max_span`` characters).

A tag or ``\\boxed`` span longer than ``max_span`` is rejected (``TOO_LONG``). Inside the span
a lead-in such as ``Answer:`` / ``the final answer is`` is dropped (text after the last one
is read), LaTeX wrappers (``\\text{}``, ``\\mathrm{}``, ``^\\circ``), markdown emphasis,
``$`` and surrounding quotes are removed.

Reading a span collects every *mention* of an answer in it. Exactly one distinct answer is a
parse; none is ``NOT_FOUND``; several distinct ones (``A. No wait, B``, ``2 m or 3 m``,
``yes ... no``) are ``AMBIGUOUS``. Both get reward 0 and ``format_ok = False``. An
abstention (``cannot be determined``, ``unanswerable``, ...) is a well-formed answer: it is
right only when the canonical answer is itself an abstention.
"""

from __future__ import annotations

import math
import re
from typing import Any

#: Longest answer span (characters) read; longer tag / boxed spans are rejected.
MAX_SPAN = 1000
#: Numbers mentioned in one span agree (one answer) when within this relative tolerance.
AGREE_RTOL = 0.01

# ---------------------------------------------------------------- status codes
OK = 0
EMPTY = 1
TOO_LONG = 2
NOT_FOUND = 3
AMBIGUOUS = 4
NON_FINITE = 5
WRONG_UNIT = 6
NOT_INTEGER = 7
NOT_PERMUTATION = 8
NO_TAGS = 9

#: Why a response is not well formed, by status code.
REASONS: dict[int, str] = {
    OK: "ok",
    EMPTY: "empty answer",
    TOO_LONG: "answer span too long",
    NOT_FOUND: "no answer of the expected type found",
    AMBIGUOUS: "several distinct answers",
    NON_FINITE: "number is not finite (NaN, infinity or overflow)",
    WRONG_UNIT: "unit of the wrong dimension",
    NOT_INTEGER: "count is not a non-negative integer",
    NOT_PERMUTATION: "not an ordering of exactly the asked items",
    NO_TAGS: "no <answer> tag or \\boxed{} (tags required)",
}

# ---------------------------------------------------------------- sources
SRC_NONE = 0
SRC_TAG = 1
SRC_BOXED = 2
SRC_LINE = 3
SOURCES = ("none", "answer_tag", "boxed", "last_line")

#: Parsed index of an abstention when no choice is an abstention.
ABSTAIN = -2
#: The parsed value reported for an abstention.
ABSTAIN_TEXT = "unanswerable"

# ---------------------------------------------------------------- extraction
_OPEN = re.compile(r"<\s*answer\s*>", re.I)
_CLOSE = re.compile(r"<\s*/\s*answer\s*>", re.I)
_LEAD = re.compile(r"\b(?:final\s+answer|answer)\b\s*(?:is\b)?\s*[:=\-]?\s*", re.I)
_LATEX = re.compile(r"\\(?:text|textbf|textit|mathrm|mathbf|mbox|operatorname|emph)\s*\{([^{}]*)\}")
_LATEX_DEG = re.compile(r"\s*\^\s*\{?\s*\\circ\s*\}?|\\circ|\\degree")
_TAG_LEFTOVER = re.compile(r"<\s*/?\s*answer\s*>", re.I)
_STRIP = " \t\r\n*`$_"
_TRAIL = " \t\r\n*`$_.!;:,"


def _last(pattern: re.Pattern[str], text: str, end: int | None = None) -> re.Match[str] | None:
    m = None
    for m in pattern.finditer(text, 0, len(text) if end is None else end):  # noqa: B007
        pass
    return m


def _tag_span(text: str) -> str | None:
    """Content of the last complete ``<answer>...</answer>`` pair, or None."""
    end = text.rfind("</answer>")
    if end >= 0 and text.find("</", end + 9) < 0:  # no later closing tag in another spelling
        start = text.rfind("<answer>", 0, end)
        if start >= 0:
            return text[start + 8 : end]
    if "<" not in text:
        return None
    close = _last(_CLOSE, text)  # case / spacing variants: linear scans only
    if close is None:
        return None
    opening = _last(_OPEN, text, close.start())
    if opening is None:
        return None
    return text[opening.end() : close.start()]


def _boxed_span(text: str, max_span: int) -> tuple[str | None, bool]:
    """``(content, too_long)`` of the last complete ``\\boxed{...}``: at most ``max_span + 1``
    characters are scanned for its closing brace. ``(None, False)``: none (or unclosed)."""
    k = text.rfind("\\boxed")
    if k < 0:
        return None, False
    i = k + 6
    while i < len(text) and i < k + 10 and text[i] == " ":
        i += 1
    if i >= len(text) or text[i] != "{":
        return None, False
    limit = i + 2 + max_span
    j = text.find("}", i + 1, limit)
    if j >= 0 and "{" not in text[i + 1 : j]:
        return text[i + 1 : j], False
    depth = 0
    for p in range(i, min(len(text), limit)):
        c = text[p]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1 : p], False
    return None, len(text) > limit


def clean(span: str) -> str:
    """Drop LaTeX wrappers, leftover tags, lead-ins (``Answer:``), emphasis, ``$`` and
    surrounding quotes; unify the minus sign."""
    if "\\" in span:
        span = _LATEX_DEG.sub("°", _LATEX.sub(r"\1", span)).replace("\\,", " ").replace("\\ ", " ")
        span = span.replace("\\%", "%")
    if "<" in span:
        span = _TAG_LEFTOVER.sub(" ", span)
    if "nswer" in span or "NSWER" in span:
        lead = _last(_LEAD, span)
        if lead is not None and span[lead.end() :].strip(_TRAIL):
            span = span[lead.end() :]
    span = span.replace("\u2212", "-").strip(_STRIP).rstrip(_TRAIL)
    if len(span) > 1 and span[0] == span[-1] and span[0] in "\"'":
        span = span[1:-1].strip()
    return span


def extract(
    text: str, max_span: int = MAX_SPAN, require_tags: bool = False
) -> tuple[str, int, int]:
    """``(span, source, status)`` of a response: the cleaned answer span, where it came from
    (``SRC_*``) and ``OK`` or why there is none (``EMPTY``, ``TOO_LONG``, ``NO_TAGS``)."""
    if len(text) <= max_span and "<" not in text and "\\" not in text and "\n" not in text:
        span = clean(text)  # fast path: a short single line
        if require_tags:
            return span, SRC_LINE, NO_TAGS
        return span, SRC_LINE, OK if span else EMPTY
    span = _tag_span(text)
    src = SRC_TAG
    if span is None:
        src = SRC_BOXED
        span, too_long = _boxed_span(text, max_span)
        if too_long:
            return "", src, TOO_LONG
    if span is not None:
        if len(span) > max_span:
            return "", src, TOO_LONG
        span = clean(span)
        return span, src, OK if span else EMPTY
    t = text.rstrip()
    line = t[t.rfind("\n") + 1 :]
    if len(line) > max_span:
        line = line[-max_span:]
    span = clean(line)
    if require_tags:
        return span, SRC_LINE, NO_TAGS
    return span, SRC_LINE, OK if span else EMPTY


# ---------------------------------------------------------------- abstentions
_UNANS_PAT = (
    r"(?:cannot|can\s*not|can't|could\s+not|couldn't|impossible\s+to|unable\s+to)\s+"
    r"(?:be\s+)?(?:determined?|tell|told|answer(?:ed)?|know|known|say|decided?)"
    r"|un\s*answerable|not\s+answerable|not\s+determinable|undeterminable|indeterminate"
    r"|(?:not\s+enough|insufficient)\s+information|unknown|(?:i\s+)?(?:don't|do\s+not)\s+know"
)
_UNANS = re.compile(r"(?<![\w-])(?:" + _UNANS_PAT + r")(?![\w-])", re.I)


def is_abstention(text: str) -> bool:
    """Whether ``text`` (a whole answer) is an abstention such as ``cannot be determined``."""
    return _UNANS.fullmatch(text.strip().strip(".!").strip()) is not None


# ---------------------------------------------------------------- numbers and units
LENGTH, AREA, ANGLE = "length", "area", "angle"

#: Unit spellings -> (dimension, factor to the base unit: m, m^2, degree).
_UNIT_ALIASES: dict[str, tuple[str, float]] = {}


def _alias(dim: str, factor: float, *names: str) -> None:
    for n in names:
        _UNIT_ALIASES[n] = (dim, factor)


_alias(LENGTH, 1.0, "m", "meter", "meters", "metre", "metres")
_alias(LENGTH, 0.01, "cm", "centimeter", "centimeters", "centimetre", "centimetres")
_alias(LENGTH, 0.001, "mm", "millimeter", "millimeters", "millimetre", "millimetres")
_alias(LENGTH, 1000.0, "km", "kilometer", "kilometers", "kilometre", "kilometres")
_alias(LENGTH, 0.3048, "ft", "feet", "foot", "'", "′")
_alias(LENGTH, 0.0254, "in", "inch", "inches", '"', "″")
_alias(LENGTH, 0.9144, "yd", "yard", "yards")
_alias(
    AREA,
    1.0,
    "m2",
    "m^2",
    "m²",
    "sq m",
    "sq. m",
    "sqm",
    "square meter",
    "square meters",
    "square metre",
    "square metres",
    "meters squared",
    "metres squared",
    "m squared",
)
_alias(AREA, 1e-4, "cm2", "cm^2", "cm²", "square centimeters", "square centimetres")
_alias(
    AREA,
    0.09290304,
    "ft2",
    "ft^2",
    "ft²",
    "sq ft",
    "sq. ft",
    "sqft",
    "square feet",
    "square foot",
    "feet squared",
)
_alias(AREA, 0.00064516, "in2", "in^2", "in²", "sq in", "square inches", "square inch")
_alias(ANGLE, 1.0, "°", "º", "deg", "degs", "degree", "degrees")
_alias(ANGLE, 180.0 / math.pi, "rad", "rads", "radian", "radians")

#: Row units (the ``unit`` column) -> (dimension or None, factor to the base unit).
ROW_UNITS: dict[str, tuple[str | None, float]] = {
    "": (None, 1.0),
    "count": (None, 1.0),
    "m": (LENGTH, 1.0),
    "cm": (LENGTH, 0.01),
    "mm": (LENGTH, 0.001),
    "m2": (AREA, 1.0),
    "deg": (ANGLE, 1.0),
}


_UNIT_WS = re.compile(r"[\s.]+")


def _unit_key(s: str) -> str:
    return _UNIT_WS.sub("", s.lower())


_UNIT_KEYS = {_unit_key(k): v for k, v in _UNIT_ALIASES.items()}


def unit_of(text: str) -> tuple[str, float] | None:
    """``(dimension, factor to the base unit)`` of a unit spelling, or None."""
    u = _UNIT_KEYS.get(text)
    return u if u is not None else _UNIT_KEYS.get(_unit_key(text))


def _unit_regex() -> str:
    parts = []
    for name in sorted(_UNIT_ALIASES, key=lambda s: (-len(s), s)):
        p = re.escape(name).replace(r"\ ", r"\s*")
        if name == "in":
            p += r"(?![A-Za-z0-9])(?!\s+[A-Za-z])"  # "3 in the room" is not inches
        elif name[-1].isalnum():
            p += r"(?![A-Za-z0-9²^])"
        parts.append(p)
    return "|".join(parts)


_SMALL = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_WORD_VALUE: dict[str, int] = {w: i for i, w in enumerate(_SMALL)}
_WORD_VALUE.update({w: 20 + 10 * i for i, w in enumerate(_TENS)})
_WORD_RE = (
    r"(?:" + "|".join(_TENS) + r")(?:[\s-](?:" + "|".join(_SMALL[1:10]) + r"))?"
    r"|" + "|".join(sorted(_SMALL, key=len, reverse=True))
)
_NUM_RE = (
    r"[-+]?(?:\d{1,3}(?:,\d{3})+(?![\d,])|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?"
    r"|[-+]?\.\d+(?:[eE][-+]?\d+)?"
)
#: A lone number with an optional unit-like suffix: the fast path of :func:`parse_number`.
_SIMPLE = re.compile(r"([-+]?\d+(?:\.\d+)?)\s*([^\d\s.,;:!?()]{1,8}(?: squared)?)?")
_UNIT_RE = r"(?:\s*(?P<unit>" + _unit_regex() + r"))?"
#: Numbers written with digits (and feet-inches pairs), each with an optional unit.
_NUM_TOKEN = re.compile(
    r"(?<![\w.])(?:"
    r"(?P<ft>\d+(?:\.\d+)?)\s*(?:'|′|ft|feet|foot)\s*"
    r"(?P<inch>\d+(?:\.\d+)?)\s*(?:\"|″|inches|inch|in)(?![A-Za-z])"
    r"|(?P<num>" + _NUM_RE + r"))" + _UNIT_RE,
    re.I,
)
#: Numbers written as words (read only when the span has no digit).
_WORD_TOKEN = re.compile(r"(?<![\w.-])(?P<word>" + _WORD_RE + r")(?![\w-])" + _UNIT_RE, re.I)
_DIGIT = re.compile(r"\d")
#: A range with a unit (``2-3 m``, ``2 to 3 metres``): a hedge, read as several answers.
_RANGE = re.compile(
    r"\d\s*(?:-|–|—|\bto\b)\s*[-+]?(?:\d+(?:\.\d+)?|\.\d+)\s*(?:" + _unit_regex() + ")", re.I
)
_FLOAT_END = frozenset("0123456789fFnNyY")


def _word_number(w: str) -> int:
    parts = re.split(r"[\s-]+", w.lower())
    return sum(_WORD_VALUE[p] for p in parts)


def _read_numbers(span: str, dim: str | None, factor: float, rtol: float) -> tuple[int, Any]:
    """The general path of :func:`parse_number`: every number mention in the span."""
    right: list[float] = []
    bare: list[float] = []
    wrong = 0
    has_digit = _DIGIT.search(span) is not None
    if has_digit and _RANGE.search(span) is not None:
        return AMBIGUOUS, None
    for m in (_NUM_TOKEN if has_digit else _WORD_TOKEN).finditer(span):
        g = m.group
        unit = g("unit")
        if has_digit and g("ft") is not None:
            val, udim, uf = float(g("ft")) * 12 + float(g("inch")), LENGTH, 0.0254
        else:
            val = float(g("num").replace(",", "")) if has_digit else float(_word_number(g("word")))
            if unit is None:
                bare.append(val)
                continue
            udim, uf = unit_of(unit)  # type: ignore[misc]
        if dim is None:
            bare.append(val)
        elif udim == dim:
            right.append(val * uf / factor)
        else:
            wrong += 1
    cands = right or bare
    abstain = _UNANS.search(span) is not None
    if not cands:
        if abstain:
            return OK, ABSTAIN_TEXT
        return (WRONG_UNIT if wrong else NOT_FOUND), None
    if abstain:
        return AMBIGUOUS, None
    if not all(math.isfinite(c) for c in cands):
        return NON_FINITE, None
    v = cands[0]
    for c in cands[1:]:
        if not abs(c - v) <= rtol * max(abs(c), abs(v)):
            return AMBIGUOUS, None
    return OK, v


def parse_number(
    span: str, dim: str | None, factor: float, integer: bool = False, rtol: float = AGREE_RTOL
) -> tuple[int, Any]:
    """``(status, value)``: the number in ``span`` expressed in the row's unit (dimension
    ``dim``, ``factor`` to the base unit), or :data:`ABSTAIN_TEXT`.

    Mentions with a unit of the row's dimension are converted and preferred; bare numbers are
    in the row's unit and count only when no such unit appears; mentions with a unit of another
    dimension are ignored unless nothing else is there (``WRONG_UNIT``). Digits take precedence
    over number words (``three``). ``integer``: the value must be a non-negative integer.
    """
    v = None
    if span[-1] in _FLOAT_END:
        try:
            v = float(span)  # fast path: a bare number (also nan / inf: rejected below)
        except ValueError:
            v = None
    if v is None:
        m = _SIMPLE.fullmatch(span)  # fast path: a number and a unit
        if m is not None:
            u = m.group(2)
            if u is None or dim is None:
                v = float(m.group(1))
            else:
                uu = unit_of(u)
                if uu is not None:
                    if uu[0] != dim:
                        return WRONG_UNIT, None
                    v = float(m.group(1)) * uu[1] / factor
    if v is None:
        st, v = _read_numbers(span, dim, factor, rtol)
        if st != OK or type(v) is str:
            return st, v
    if not math.isfinite(v):
        return NON_FINITE, None
    if integer:
        if v < 0 or v != math.floor(v):
            return NOT_INTEGER, None
        return OK, int(v) if abs(v) < 2**53 else v
    return OK, v


# ---------------------------------------------------------------- yes / no
_BOOL_FAST = {"yes": 1, "no": 0, "true": 1, "false": 0, "y": 1, "n": 0}
_BOOL_RE = re.compile(r"(?<![\w'-])(yes|no|true|false)(?![\w'-])", re.I)


def parse_bool(span: str, letters: dict[str, int] | None = None) -> tuple[int, Any]:
    """``(status, 1 | 0 | ABSTAIN)`` for yes / no (also true / false, y / n; ``letters`` maps
    choice letters when the row offers yes / no as lettered choices)."""
    key = span.lower()
    v = _BOOL_FAST.get(key)
    if v is not None:
        return OK, v
    if letters is not None:
        v = letters.get(key.strip("()"))
        if v is not None:
            return OK, v
    found = {1 if m.group(1).lower() in ("yes", "true") else 0 for m in _BOOL_RE.finditer(span)}
    if _UNANS.search(span) is not None:
        found.add(ABSTAIN)
    if len(found) == 1:
        return OK, found.pop()
    return (AMBIGUOUS if found else NOT_FOUND), None


# ---------------------------------------------------------------- choices
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LETTER_RE = re.compile(
    r"\(([A-Za-z])\)"
    r"|\b(?i:option|choice|answer|letter)\s*(?i:is\s*)?[:\-]?\s*([A-Za-z])(?![\w'])"
    r"|^\s*([A-Za-z])(?:[.):]|\s*$)"
    r"|(?<![\w'])([A-Z])(?![\w'])"
)
_A_NEXT = re.compile(r" ([a-z]+)")
#: After a standalone capital "A", these words make it a letter ("A is right"), others an
#: article ("A sofa").
_A_VERBS = frozenset("is was seems looks because since as and or it would should".split())
_WS = re.compile(r"[\s_-]+")


def norm_text(s: str) -> str:
    """Case-, underscore-, hyphen- and space-insensitive form of a choice or item name."""
    return _WS.sub(" ", s.lower()).strip()


class ChoiceInfo:
    """Matching tables for one tuple of choices (cached and shared by rows); ``letters``:
    whether letters A, B, ... name the choices (not when the row offers no choices)."""

    __slots__ = ("abstain_idx", "index_of", "lookup", "n", "n_letters", "regex", "texts")

    def __init__(self, choices: tuple[str, ...], letters: bool = True) -> None:
        self.texts = choices
        self.n = len(choices)
        self.n_letters = min(self.n, len(_LETTERS)) if letters else 0
        norms = [norm_text(c) for c in choices]
        if len(set(norms)) != len(norms):
            raise ValueError(f"duplicate choices {list(choices)}")
        self.index_of = {t: i for i, t in enumerate(norms)}
        ab = [i for i, c in enumerate(choices) if is_abstention(c)]
        self.abstain_idx = ab[0] if ab else ABSTAIN
        lookup: dict[str, int] = {}
        bad: set[str] = set()

        def put(key: str, i: int) -> None:
            if lookup.get(key, i) != i:
                bad.add(key)
            lookup[key] = i

        for i, t in enumerate(norms):
            put(t, i)
            put("the " + t, i)
            if i < self.n_letters:
                L = _LETTERS[i].lower()
                for k in (L, f"({L})", f"{L})", f"{L}.", f"{L}:", f"option {L}", f"choice {L}"):
                    put(k, i)
                for k in (f"{L}. {t}", f"({L}) {t}", f"{L}) {t}", f"{L}: {t}"):
                    put(k, i)
        for k in bad:
            del lookup[k]
        self.lookup = lookup
        alts = sorted(range(self.n), key=lambda i: (-len(norms[i]), i))
        body = "|".join(
            f"(?P<c{i}>" + r"[\s_-]+".join(re.escape(w) for w in norms[i].split()) + ")"
            for i in alts
            if norms[i]
        )
        body = (body + "|" if body else "") + "(?P<u>" + _UNANS_PAT + ")"
        self.regex = re.compile(r"(?<![\w-])(?:" + body + r")(?![\w-])", re.I)

    def parse(self, span: str) -> tuple[int, Any]:
        """``(status, index)`` of the choice named in ``span`` (index ``ABSTAIN`` for an
        abstention that is not among the choices)."""
        key = span.lower()
        i = self.lookup.get(key)
        if i is not None:
            return OK, i
        if "  " in key or "\t" in key:
            i = self.lookup.get(" ".join(key.split()))
            if i is not None:
                return OK, i
        found: set[int] = set()
        rest = span
        matches = list(self.regex.finditer(span))
        if matches:
            pieces, last = [], 0
            for m in matches:
                g = m.lastgroup
                found.add(self.abstain_idx if g == "u" else int(g[1:]))  # type: ignore[index]
                pieces.append(span[last : m.start()])
                pieces.append(" " * (m.end() - m.start()))
                last = m.end()
            pieces.append(span[last:])
            rest = "".join(pieces)
        for m in _LETTER_RE.finditer(rest):
            g1, g2, g3, g4 = m.groups()
            letter = g1 or g2 or g3 or g4
            if g4 is not None:
                if letter == "I":
                    continue
                if letter == "A":
                    nxt = rest[m.end() : m.end() + 20]
                    w = _A_NEXT.match(nxt)
                    if w is not None and w.group(1) not in _A_VERBS:
                        continue  # the article: "A sofa"
            idx = _LETTERS.find(letter.upper())
            if 0 <= idx < self.n_letters:
                found.add(idx)
        if len(found) == 1:
            return OK, found.pop()
        return (AMBIGUOUS if found else NOT_FOUND), None


# ---------------------------------------------------------------- orderings
_ORDER_SEP = re.compile(
    r"\s*(?:,|;|->|-->|=>|→|⟶|➔|>|\bthen\b|\band\b|\bfollowed\s+by\b|\n)\s*", re.I
)
_ENUM = re.compile(
    r"^(?:\(?\d+[.)]|[-*•]|(?:first|second|third|fourth|next|then|finally|last)(?:ly)?\b[,:]?)\s*",
    re.I,
)


def split_order(text: str) -> list[str]:
    """Item names of an ordering written with commas, arrows, ``then`` or ``and``, normalised
    (lower case; ``the``, enumerators ``1.`` and ordinals ``first`` / ``finally`` dropped)."""
    out = []
    for part in _ORDER_SEP.split(text):
        p = _ENUM.sub("", part.strip()).strip(" .!*`'\"")
        p = norm_text(p)
        if p.startswith("the "):
            p = p[4:]
        if p:
            out.append(p)
    return out


def parse_order(span: str, index_of: dict[str, int]) -> tuple[int, Any]:
    """``(status, positions)``: the ground-truth index of each item in the order given, when
    the span names each of the ``len(index_of)`` items exactly once."""
    items = split_order(span)
    pos = [index_of.get(it, -1) for it in items]
    if len(pos) == len(index_of) and -1 not in pos and len(set(pos)) == len(pos):
        return OK, pos
    if _UNANS.search(span) is not None and not any(p >= 0 for p in pos):
        return OK, ABSTAIN_TEXT
    return (NOT_PERMUTATION if items else NOT_FOUND), None


def kendall_tau(pos: list[int]) -> float:
    """Kendall's tau between the order ``pos`` (ground-truth indices in the order given) and
    the identity: 1 for the same order, -1 for the reverse."""
    n = len(pos)
    if n < 2:
        return 1.0
    inv = sum(1 for i in range(n) for j in range(i + 1, n) if pos[i] > pos[j])
    return 1.0 - 4.0 * inv / (n * (n - 1))
