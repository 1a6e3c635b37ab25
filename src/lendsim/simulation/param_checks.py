"""How a parameter value is checked, and the one-line error a bad one gets.

The scenario's dataclasses (:mod:`lendsim.simulation.params`) carry each field's allowed range,
choices and unit in its metadata; these functions read that metadata, so the checks, the error
messages and the parameter reference all come from the same place.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from dataclasses import field
from typing import Any

from lendsim.errors import ScenarioError


def flatten(data: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in data.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _to_dict(obj) -> dict:
    out = {}
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        if dataclasses.is_dataclass(v):
            out[f.name] = _to_dict(v)
        elif isinstance(v, tuple):
            out[f.name] = list(v)
        else:
            out[f.name] = v
    return out


def _fail(key: str, value: Any, allowed: str, source: str = "") -> None:
    where = f" (in {source})" if source else ""
    raise ScenarioError(f"{key} = {value!r}{where}: must be {allowed}")


def _unknown_key_message(key: str, value: Any, known: set[str], source: str) -> str:
    where = f" (in {source})" if source else ""
    close = difflib.get_close_matches(key, sorted(known), n=3, cutoff=0.6)
    if not close:  # a typo in the last part only: compare within the same section
        sect = key.rsplit(".", 1)[0]
        close = difflib.get_close_matches(key, [k for k in known if k.startswith(sect)], n=3,
                                          cutoff=0.4)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return f"{key} = {value!r}{where}: unknown parameter{hint}"


def _build(cls, values: dict, prefix: str, source: str):
    kwargs = {}
    for f in dataclasses.fields(cls):
        v = values[f.name]
        key = f"{prefix}.{f.name}"
        if f.default is dataclasses.MISSING:  # a nested section (default_factory)
            if not isinstance(v, dict):
                _fail(key, v, "a table of parameters", source)
            kwargs[f.name] = _build(type(f.default_factory()), v, key, source)
            continue
        kwargs[f.name] = _check_value(key, v, f, source)
    return cls(**kwargs)


def _check_value(key: str, v: Any, f: dataclasses.Field, source: str) -> Any:
    m = f.metadata
    kind = type(f.default)
    if kind is bool:
        if not isinstance(v, bool):
            _fail(key, v, "true or false", source)
        return v
    if kind is int:
        if isinstance(v, bool) or not (isinstance(v, int) or
                                      (isinstance(v, float) and v.is_integer())):
            _fail(key, v, f"a whole number{_range_text(m)}", source)
        v = int(v)
    elif kind is float:
        if v in ("inf", "+inf", "Infinity"):  # as JSON manifests spell infinity
            v = math.inf
        if isinstance(v, bool) or not isinstance(v, (int, float)) or math.isnan(v):
            _fail(key, v, f"a number{_range_text(m)}", source)
        v = float(v)
        if math.isinf(v) and not (math.isinf(f.default) or m.get("inf_ok")):  # "no limit"
            _fail(key, v, f"a finite number{_range_text(m)}", source)
    elif kind is str:
        if not isinstance(v, str):
            _fail(key, v, "a string" + (f", one of {', '.join(m['choices'])}"
                                        if m.get("choices") else ""), source)
        if m.get("many"):  # a comma-separated list of choices, or ""
            names = [x.strip() for x in v.split(",") if x.strip()]
            bad = [x for x in names if x not in m["choices"]]
            if bad:
                _fail(key, v, f"a comma-separated list of {', '.join(map(repr, m['choices']))} "
                      f"or empty ({bad[0]!r} is none of them)", source)
            return ",".join(names)
        if m.get("choices") and v not in m["choices"]:
            close = difflib.get_close_matches(v, m["choices"], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            _fail(key, v, f"one of {', '.join(repr(c) for c in m['choices'])}{hint}", source)
        return v
    elif kind is tuple:
        if not isinstance(v, (list, tuple)) or not v or not all(
                isinstance(x, (int, float)) and not isinstance(x, bool) and x >= 0
                and math.isfinite(x) for x in v):
            _fail(key, v, "a non-empty list of non-negative numbers", source)
        if key == "macro.seasonality" and len(v) != 12:
            _fail(key, v, "a list of 12 monthly multipliers", source)
        return tuple(float(x) for x in v)
    lo, hi = m.get("lo"), m.get("hi")
    if (lo is not None and (v < lo or (m.get("lo_open") and v == lo))) or (
            hi is not None and v > hi):
        _fail(key, v, f"a {'whole ' if kind is int else ''}number{_range_text(m)}"
              + _percent_hint(v, m), source)
    return v


def _percent_hint(v: float, m: dict) -> str:
    """A rate or share typed as a percentage (``apr_cap = 24``): suggest the fraction."""
    is_fraction = m.get("unit") == "annual" or (m.get("lo") == 0 and m.get("hi") == 1)
    if is_fraction and 1 < v <= 100 and m.get("hi") is not None and v / 100 <= m["hi"]:
        return f" (a fraction, not a percentage: did you mean {v / 100:g}?)"
    return ""


def _range_text(m: dict) -> str:
    lo, hi = m.get("lo"), m.get("hi")
    lo_op = ">" if m.get("lo_open") else ">="
    if lo is not None and hi is not None:
        return f" {lo_op} {lo:g} and <= {hi:g}"
    if lo is not None:
        return f" {lo_op} {lo:g}"
    if hi is not None:
        return f" <= {hi:g}"
    return ""


def spec(doc: str, *, lo: float | None = None, hi: float | None = None,
         lo_open: bool = False, choices: tuple | None = None, unit: str = "",
         many: bool = False, inf_ok: bool = False) -> dict:
    """Field metadata: documentation, unit and the allowed range or choices (``many``: a
    string of comma-separated choices, or empty; ``inf_ok``: a float with a finite default
    that may also be ``inf``)."""
    return {"doc": doc, "lo": lo, "hi": hi, "lo_open": lo_open, "choices": choices,
            "unit": unit, "many": many, "inf_ok": inf_ok}


def _f(default, doc, **kw):
    return field(default=default, metadata=spec(doc, **kw))
