"""Deterministic question parsing: a question text back into template + parameters.

SpatialEvo extracts the entities of a proposed question with an LLM (and penalises low
confidence) before any geometry runs. Here every template owns the grammar of its phrasings
(:mod:`geoenv.tasks.grammar`): :func:`parse` matches the normalised text against every
paraphrase of every template (or of the templates asked for), reads the placeholders back
through the scene's label map and frames, and returns a :class:`ParsedQuestion`, or an
:class:`Unparsed` with the kind and the reason. It never raises for any text.

:func:`answer_parsed` then answers a parsed question exactly (the template's rule), or says
why it is ill-posed; the service's text proposals go through both.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, PrivateAttr

from geoenv.scene import Scene
from geoenv.tasks.base import Answer, IllPosed, Template
from geoenv.tasks.grammar import (
    UNREADABLE_RANK,
    ReadContext,
    Reading,
    Unreadable,
    UnreadableKind,
    form_pattern,
    normalize,
    slot_kinds,
)
from geoenv.tasks.registry import templates as all_templates

ParseKind = UnreadableKind | Literal["ambiguous_phrasing"]


class ParsedQuestion(BaseModel):
    """A question text read as ``template`` with ``params``; ``choices`` are the options the
    text offers, in its order (empty for a free answer); ``form`` names the paraphrase set
    (``<attribute>[<index>]``) that matched."""

    model_config = ConfigDict(frozen=True)

    ok: Literal[True] = True
    template: str
    params: dict[str, Any]
    choices: list[str]
    form: str
    #: The text as given (a copy rebuilt from JSON is read again from it when answered).
    text: str
    _reading: Reading | None = PrivateAttr(default=None)


class Unparsed(BaseModel):
    """A text that does not read as one question on this scene: ``kind`` (``unparsed`` when no
    phrasing matches; ``referent_missing`` / ``referent_ambiguous`` / ``frame_missing`` /
    ``bad_options`` / ``bad_value`` when a phrasing matched but a placeholder did not resolve;
    ``ambiguous_phrasing`` when several templates read it differently), the reason and the
    templates whose phrasing matched."""

    model_config = ConfigDict(frozen=True)

    ok: Literal[False] = False
    kind: ParseKind
    reason: str
    templates: list[str] = []


@dataclass(frozen=True)
class _Form:
    template: Template
    key: str
    index: int
    pattern: Any


@lru_cache(maxsize=64)
def _grammar(names: tuple[str, ...] | None) -> tuple[_Form, ...]:
    reg = all_templates()
    chosen = [reg[n] for n in (names if names is not None else tuple(reg))]
    out = []
    for tpl in chosen:
        kinds = slot_kinds(tpl.slot_classes)
        for key, texts in tpl.phrasings().items():
            for i, text in enumerate(texts):
                out.append(_Form(tpl, key, i, form_pattern(text, kinds)))
    return tuple(out)


def parse(
    text: str,
    scene: Scene,
    frames: Sequence[int] | None = None,
    templates: Iterable[str] | None = None,
) -> ParsedQuestion | Unparsed:
    """Read ``text`` as a question on ``scene``: template, parameters and offered options.

    ``frames``: the frame indices the question comes with, in the order its images are shown
    (a frame it names must be one of them; ``image 2`` / ``the second image`` name
    ``frames[1]``); ``templates``: restrict to these template names (e.g. those of a SpatialEvo task
    type). Names are matched through the scene's label map, singular or plural, with or
    without articles, in any case. Never raises: a text that is not a question of the
    grammar, or that names what the scene lacks, gives :class:`Unparsed`."""
    try:
        norm = normalize(text)
        if frames is not None:
            norm = image_references(norm, [int(f) for f in frames])
        names = None if templates is None else tuple(dict.fromkeys(templates))
        if names is not None:
            unknown = [n for n in names if n not in all_templates()]
            if unknown:
                return Unparsed(kind="unparsed", reason=f"unknown templates {unknown}")
        grammar = _grammar(names)
    except Unreadable as exc:
        return Unparsed(kind=exc.kind, reason=exc.reason)
    ctx = ReadContext(scene, frames)
    found: dict[str, ParsedQuestion] = {}
    failures: list[tuple[int, str, str, str]] = []
    for f in grammar:
        m = f.pattern.fullmatch(norm)
        if m is None:
            continue
        try:
            reading = f.template.read(ctx, f.key, m.groupdict())
        except Unreadable as exc:
            failures.append((UNREADABLE_RANK[exc.kind], exc.kind, exc.reason, f.template.name))
            continue
        except NotImplementedError:
            continue
        pq = ParsedQuestion(
            template=f.template.name,
            params=dict(reading.params),
            choices=list(reading.choices),
            form=f"{f.key}[{f.index}]",
            text=text,
        )
        pq._reading = reading
        sig = f"{pq.template}|{sorted(pq.params.items())!r}|{pq.choices!r}"
        found.setdefault(sig, pq)
    if len(found) == 1:
        return next(iter(found.values()))
    if len(found) > 1:
        names_found = sorted({p.template for p in found.values()})
        return Unparsed(
            kind="ambiguous_phrasing",
            reason=f"the text reads {len(found)} ways ({', '.join(names_found)})",
            templates=names_found,
        )
    if failures:
        failures.sort()
        _, kind, reason, _ = failures[0]
        return Unparsed(kind=kind, reason=reason, templates=sorted({t for *_, t in failures}))  # type: ignore[arg-type]
    return Unparsed(kind="unparsed", reason="the text matches no phrasing of any template")


_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6}
_IMAGE_NUM = re.compile(r"\b(?:image|picture|view) #?(\d{1,3})\b")
_IMAGE_ORD = re.compile(r"\b(?:the )?(" + "|".join(_ORDINALS) + r") (?:image|picture|view)\b")


def image_references(norm: str, frames: Sequence[int]) -> str:
    """Image references of a normalised text rewritten as the frames they show: with the
    question's ``frames`` [f1, f2, ...], ``image 1`` / ``picture 1`` / ``view 1`` and ``the
    first image`` become ``frame f1`` (1-based, as SpatialEvo-style prompts number images).
    A number beyond the frames given is left alone (and then does not parse)."""

    def sub(k: int, whole: str) -> str:
        return f"frame {frames[k - 1]}" if 1 <= k <= len(frames) else whole

    norm = _IMAGE_NUM.sub(lambda m: sub(int(m.group(1)), m.group(0)), norm)
    return _IMAGE_ORD.sub(lambda m: sub(_ORDINALS[m.group(1)], m.group(0)), norm)


@dataclass(frozen=True)
class ParsedAnswer:
    """The exact answer of a parsed question: the template's :class:`Answer` and the text's
    canonical answer string (for a yes/no comparison, as the text asks it)."""

    answer: Answer
    text: str


def text_answer(
    scene: Scene, parsed: ParsedQuestion, value: Any, canonical: Callable[[], str]
) -> str:
    """The canonical answer string of the text for the template's answer ``value``: the
    reading's answer map (a comparison asked the other way round flips it), else
    ``canonical()`` (the template's own answer string). Raises
    :class:`~geoenv.tasks.base.IllPosed` when the text's options do not include it."""
    reading = parsed._reading
    if reading is None:  # rebuilt from JSON: read the text again
        again = parse(parsed.text, scene, templates=[parsed.template])
        if not isinstance(again, ParsedQuestion) or again.params != parsed.params:
            raise IllPosed(f"the text no longer reads as these parameters: {again}")
        reading = again._reading
        assert reading is not None
    out = canonical() if reading.answer is None else reading.answer(value)
    if parsed.choices and out not in parsed.choices:
        raise IllPosed(f"the answer {out!r} is not among the offered options {parsed.choices}")
    return out


def answer_parsed(scene: Scene, parsed: ParsedQuestion) -> ParsedAnswer:
    """Answer a parsed question exactly; raises :class:`~geoenv.tasks.base.IllPosed` when the
    template's validity rules reject its parameters, or when the text's options do not
    include the answer."""
    tpl = all_templates()[parsed.template]
    params = dict(parsed.params)
    ans = tpl.answer(scene, params)

    def canonical() -> str:
        return tpl.render(scene, params, ans, np.random.default_rng(0), 0).answer

    return ParsedAnswer(ans, text_answer(scene, parsed, ans.value, canonical))


__all__ = [
    "ParsedAnswer",
    "ParsedQuestion",
    "Unparsed",
    "answer_parsed",
    "parse",
    "text_answer",
]
