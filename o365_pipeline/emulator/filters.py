"""A small OData `$filter` evaluator: comparisons, startswith/endswith, and/or, parentheses.

Each route states which (property, operator) pairs it supports; anything else is refused with the error
Graph gives for that family, so a client that filters on something Graph cannot filter on fails here too.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any

Predicate = Callable[[Mapping[str, Any]], bool]
Unsupported = Callable[[str], Exception]  # property name -> the error to raise

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<lp>\()|(?P<rp>\))|(?P<comma>,)"
    r"|(?P<dt>\d{4}-\d{2}-\d{2}(?:T[0-9:.]+)?(?:Z|[+-]\d{2}:\d{2})?)|(?P<num>-?\d+(?:\.\d+)?)"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_/]*))"
)
_OPS = {"eq", "ne", "gt", "ge", "lt", "le"}
_FUNCS = {"startswith", "endswith"}


class FilterSyntaxError(ValueError):
    """The $filter text does not parse."""


def _tokens(text: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise FilterSyntaxError(f"cannot parse $filter at {text[pos : pos + 20]!r}")
        pos = m.end()
        kind = m.lastgroup or ""
        val: Any = m.group(kind)
        if kind == "str":
            val = val[1:-1].replace("''", "'")
        elif kind == "num":
            val = float(val) if "." in val else int(val)
        elif kind == "dt":
            val = _as_time(val)
        elif kind == "word" and val.lower() in ("true", "false", "null"):
            kind, val = "lit", {"true": True, "false": False, "null": None}[val.lower()]
        out.append((kind, val))
    return out


def _as_time(raw: str) -> float:
    v = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    if v.tzinfo is None:
        v = v.replace(tzinfo=dt.UTC)
    return v.timestamp()


def _compare(op: str, left: Any, right: Any) -> bool:
    if isinstance(right, float) and isinstance(left, str):  # a DateTimeOffset literal against a stored string
        try:
            left = _as_time(left)
        except ValueError:
            return False
    if isinstance(left, str) and isinstance(right, str):
        left, right = left.lower(), right.lower()  # directory string comparisons ignore case
    if op == "eq":
        return bool(left == right)
    if op == "ne":
        return bool(left != right)
    if left is None or right is None:
        return False
    try:
        return bool({"gt": left > right, "ge": left >= right, "lt": left < right, "le": left <= right}[op])
    except TypeError:
        return False


def compile_filter(text: str, allowed: Mapping[str, set[str]], unsupported: Unsupported) -> Predicate:
    """Parse `text` into a predicate over item dicts.

    allowed maps a property to the operators (`eq`, `ge`, ..., `startswith`, `endswith`) the route supports;
    other properties or operators raise `unsupported(property)`; a syntax error raises `unsupported("")`.
    """
    try:
        toks = _tokens(text)
    except (FilterSyntaxError, ValueError):
        raise unsupported("") from None
    pos = 0

    def peek() -> tuple[str, Any]:
        return toks[pos] if pos < len(toks) else ("end", None)

    def take(kind: str) -> Any:
        nonlocal pos
        k, v = peek()
        if k != kind:
            raise unsupported("")
        pos += 1
        return v

    def check(prop: str, op: str) -> None:
        if op not in allowed.get(prop, set()):
            raise unsupported(prop)

    def literal() -> Any:
        k, v = peek()
        if k not in ("str", "num", "dt", "lit"):
            raise unsupported("")
        take(k)
        return v

    def term() -> Predicate:
        k, v = peek()
        if k == "lp":
            take("lp")
            inner = expr()
            take("rp")
            return inner
        if k != "word":
            raise unsupported("")
        take("word")
        if v.lower() in _FUNCS and peek()[0] == "lp":
            func = v.lower()
            take("lp")
            prop = take("word")
            take("comma")
            lit = literal()
            take("rp")
            check(prop, func)
            if not isinstance(lit, str):
                raise unsupported(prop)
            want = lit.lower()
            if func == "startswith":
                return lambda item: str(item.get(prop) or "").lower().startswith(want)
            return lambda item: str(item.get(prop) or "").lower().endswith(want)
        prop = v
        op = str(take("word")).lower()
        if op not in _OPS:
            raise unsupported(prop)
        check(prop, op)
        lit = literal()
        return lambda item: _compare(op, item.get(prop), lit)

    def conj() -> Predicate:
        parts = [term()]
        while peek() == ("word", "and") or (peek()[0] == "word" and str(peek()[1]).lower() == "and"):
            take("word")
            parts.append(term())
        return parts[0] if len(parts) == 1 else (lambda item: all(p(item) for p in parts))

    def expr() -> Predicate:
        parts = [conj()]
        while peek()[0] == "word" and str(peek()[1]).lower() == "or":
            take("word")
            parts.append(conj())
        return parts[0] if len(parts) == 1 else (lambda item: any(p(item) for p in parts))

    pred = expr()
    if pos != len(toks):
        raise unsupported("")
    return pred
