"""OTLP ``AnyValue`` tuples as ClickHouse expressions, written exactly as the Python decoder writes them.

The Python decoder (``_decode``) is the oracle: a value's text is the string itself, an int's
digits, a double's Python ``repr``, ``true``/``false``, bytes as lower-case hex, and an array as
compact JSON. ClickHouse writes the shapes real traffic carries; ``value_is_rare`` names the rest
(kvlists, nested arrays, doubles outside ``repr``'s fixed-point range, array strings JSON would
escape, URL attributes that redaction could change: ``semconv.redact_attributes`` is long, and
such spans are few), and a span holding one is left to the Python decoder. Generated SQL must stay small:
ClickHouse analyses every query anew, and analysis time grows with expression size (measured:
a 127 kB version took 6 s per insert).
"""

from __future__ import annotations

from llmobserve.semconv import _redact as r

__all__ = ["array", "may_need_redaction", "quoted", "value_is_rare", "value_kind", "value_text"]

def _double(d: str) -> str:
    """``repr`` of a double in [1e-4, 1e16) or zero: ClickHouse's shortest digits, plus ``.0``
    when whole (both print the shortest round-trip digits in fixed point there)."""
    return f"if({d} = trunc({d}), concat(toString({d}), '.0'), toString({d}))"


def _double_is_rare(d: str) -> str:
    return f"NOT (isFinite({d}) AND (abs({d}) >= 1e-4 AND abs({d}) < 1e16 OR {d} = 0 AND bitShiftRight(reinterpretAsUInt64({d}), 63) = 0))"


def _member_json(x: str) -> str:
    return (f"multiIf({x}.string_value IS NOT NULL, toJSONString(assumeNotNull({x}.string_value)), "
            f"{x}.int_value IS NOT NULL, toString(assumeNotNull({x}.int_value)), "
            f"{x}.bool_value IS NOT NULL, if(assumeNotNull({x}.bool_value), 'true', 'false'), "
            f"{x}.double_value IS NOT NULL, {_double(f'assumeNotNull({x}.double_value)')}, "
            f"{x}.bytes_value IS NOT NULL, concat('\"', lower(hex(assumeNotNull({x}.bytes_value))), '\"'), 'null')")


def value_text(v: str) -> str:
    """The text a value is stored as in the attribute Map column ('' when absent)."""
    array = f"concat('[', arrayStringConcat(arrayMap(x -> {_member_json('x')}, {v}.array_value.values), ','), ']')"
    return (f"multiIf({v}.string_value IS NOT NULL, assumeNotNull({v}.string_value), "
            f"{v}.int_value IS NOT NULL, toString(assumeNotNull({v}.int_value)), "
            f"{v}.double_value IS NOT NULL, {_double(f'assumeNotNull({v}.double_value)')}, "
            f"{v}.bool_value IS NOT NULL, if(assumeNotNull({v}.bool_value), 'true', 'false'), "
            f"{v}.bytes_value IS NOT NULL, lower(hex(assumeNotNull({v}.bytes_value))), "
            f"notEmpty({v}.array_value.values), {array}, '')")


def value_kind(v: str) -> str:
    """One letter for the member set: s, i, d, b, x (bytes), a (array), k (kvlist); '' when absent."""
    return (f"multiIf({v}.string_value IS NOT NULL, 's', {v}.int_value IS NOT NULL, 'i', {v}.double_value IS NOT NULL, "
            f"'d', {v}.bool_value IS NOT NULL, 'b', {v}.bytes_value IS NOT NULL, 'x', notEmpty({v}.array_value.values), "
            f"'a', {v}.kvlist_value != '', 'k', '')")


def value_is_rare(v: str) -> str:
    """Whether ``value_text`` cannot write ``v`` as Python does: a kvlist, an array holding a
    container or a double out of fixed range, or a string that ``json.dumps`` would escape
    (anything outside printable ASCII, or a '/', which ClickHouse escapes)."""
    member = (f"x.array_value != '' OR x.kvlist_value != '' OR "
              f"x.double_value IS NOT NULL AND {_double_is_rare('assumeNotNull(x.double_value)')} OR "
              f"x.string_value IS NOT NULL AND match(assumeNotNull(x.string_value), '[^ -.0-~]')")
    return (f"({v}.kvlist_value != '' OR "
            f"{v}.double_value IS NOT NULL AND {_double_is_rare(f'assumeNotNull({v}.double_value)')} OR "
            f"arrayExists(x -> {member}, {v}.array_value.values))")


def quoted(value: str) -> str:
    """A ClickHouse string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def array(values: object) -> str:
    """A ClickHouse array literal of strings."""
    return "[" + ", ".join(quoted(str(v)) for v in values) + "]"  # type: ignore[attr-defined]


def is_url_key(key: str) -> str:
    """Whether attribute name ``key`` holds a URL (``semconv.is_url_attribute``)."""
    return (f"(has({array(sorted(r.URL_ATTRIBUTES))}, {key}) OR "
            f"arrayExists(sfx -> endsWith({key}, sfx), {array(r._URL_SUFFIXES)}))")


def may_need_redaction(kv: str) -> str:
    """KeyValue ``kv`` is a URL attribute whose value redaction might change (any string with a
    '?', '#' or '@', or an array, whose strings are redacted one by one)."""
    value = f"{kv}.value"
    return (f"({is_url_key(f'{kv}.key')} AND ({value}.string_value IS NOT NULL AND "
            f"match(assumeNotNull({value}.string_value), '[?#@]') OR notEmpty({value}.array_value.values)))")
