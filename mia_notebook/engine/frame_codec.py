"""Frames, indexes and columns as JSON plus NumPy arrays, without pickle and without
losing a bit: the codec of saved reports (:mod:`.saving`).

Numeric, boolean, datetime and timedelta columns are stored as ``.npy`` arrays (exact);
pandas' nullable dtypes as their values plus a mask; categoricals as codes plus their
categories; strings and other Python objects as JSON values. JSON keeps ``str``,
``int``, ``float`` (``repr``-exact), ``bool`` and ``None`` as they are; NaN and the
infinities, tuples and timestamps are tagged (``{"$float": "nan"}``...); any other
object is stored as its ``str`` (``{"$str": ...}``), which renders the same but is no
longer the original object.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "Arrays",
    "decode_frame",
    "decode_index",
    "decode_value",
    "encode_frame",
    "encode_index",
    "encode_value",
    "store",
]

#: Arrays of one file by name (``name.npy`` inside the archive).
Arrays = dict[str, np.ndarray]
_NATIVE = "biufcmM"  # numpy kinds stored as arrays: bool, ints, floats, complex, m8, M8


def store(arrays: Arrays, prefix: str, values: np.ndarray) -> str:
    """Add ``values`` to ``arrays`` under a new name starting with ``prefix``; the name."""
    name = f"{prefix}{len(arrays)}"
    arrays[name] = np.ascontiguousarray(values)
    return name


def encode_value(value: Any) -> Any:
    """One Python value as JSON (see the module docstring for the tags)."""
    if value is None or isinstance(value, bool | str):
        return value
    if value is pd.NA:
        return {"$na": True}
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        v = float(value)
        return v if math.isfinite(v) else {"$float": repr(v)}
    if isinstance(value, tuple):
        return {"$tuple": [encode_value(v) for v in value]}
    if isinstance(value, pd.Timestamp):
        return {"$timestamp": value.isoformat()}
    if value is pd.NaT:
        return {"$nat": True}
    return {"$str": str(value)}


def decode_value(value: Any) -> Any:
    """The inverse of :func:`encode_value`."""
    if not isinstance(value, dict):
        return value
    if "$float" in value:
        return float(value["$float"])
    if "$tuple" in value:
        return tuple(decode_value(v) for v in value["$tuple"])
    if "$timestamp" in value:
        return pd.Timestamp(value["$timestamp"])
    if "$nat" in value:
        return pd.NaT
    if "$na" in value:
        return pd.NA
    return str(value["$str"])


def _encode_values(values: Any, arrays: Arrays, prefix: str) -> dict[str, Any]:
    """A 1-d array-like (a column, an index level) with its dtype."""
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        cat = pd.Categorical(values)
        return {
            "dtype": "category",
            "ordered": bool(cat.ordered),
            "categories": encode_index(cat.categories, arrays, prefix),
            "codes": store(arrays, prefix, np.asarray(cat.codes)),
        }
    if isinstance(dtype, np.dtype) and dtype.kind in _NATIVE:
        return {"dtype": str(dtype), "array": store(arrays, prefix, np.asarray(values))}
    if isinstance(dtype, pd.DatetimeTZDtype):
        utc = pd.DatetimeIndex(values).tz_convert("UTC").tz_localize(None)
        return {"dtype": str(dtype), "array": store(arrays, prefix, utc.to_numpy())}
    listed = [encode_value(v) for v in np.asarray(values, dtype=object)]
    return {"dtype": str(dtype), "values": listed}


def _objects(values: list[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):  # one by one: tuples stay single objects
        out[i] = v
    return out


def _decode_values(spec: dict[str, Any], arrays: Arrays) -> Any:
    dtype = spec["dtype"]
    if dtype == "category":
        categories = decode_index(spec["categories"], arrays)
        codes = arrays[spec["codes"]]
        return pd.Categorical.from_codes(codes, categories=categories, ordered=spec["ordered"])
    if "array" in spec:
        values = arrays[spec["array"]]
        if dtype.startswith("datetime64[") and "," in dtype:  # tz-aware
            tz = dtype[dtype.index(",") + 1 : -1].strip()
            return pd.DatetimeIndex(values).tz_localize("UTC").tz_convert(tz)
        return values
    listed = _objects([decode_value(v) for v in spec["values"]])
    if dtype == "object":
        return listed
    try:
        return pd.array(listed, dtype=dtype)
    except (TypeError, ValueError):  # a dtype this pandas cannot rebuild from values
        return listed


def encode_index(index: pd.Index, arrays: Arrays, prefix: str = "index") -> dict[str, Any]:
    """An Index (a RangeIndex, a MultiIndex) as JSON; its arrays go into ``arrays``."""
    names = [encode_value(n) for n in index.names]
    if isinstance(index, pd.RangeIndex):
        return {"kind": "range", "start": index.start, "stop": index.stop,
                "step": index.step, "names": names}  # fmt: skip
    if isinstance(index, pd.MultiIndex):
        levels = [_encode_values(index.get_level_values(i), arrays, prefix)
                  for i in range(index.nlevels)]  # fmt: skip
        return {"kind": "multi", "levels": levels, "names": names}
    return {"kind": "index", "values": _encode_values(index, arrays, prefix), "names": names}


def decode_index(spec: dict[str, Any], arrays: Arrays) -> pd.Index:
    """The inverse of :func:`encode_index`."""
    names: list[Hashable] = [decode_value(n) for n in spec["names"]]
    index: pd.Index
    if spec["kind"] == "range":
        index = pd.RangeIndex(spec["start"], spec["stop"], spec["step"], name=names[0])
    elif spec["kind"] == "multi":
        levels = [_decode_values(level, arrays) for level in spec["levels"]]
        index = pd.MultiIndex.from_arrays(levels, names=names)
    else:
        values = _decode_values(spec["values"], arrays)
        index = pd.Index(values, name=names[0], tupleize_cols=False)
    return index


def encode_frame(frame: pd.DataFrame, arrays: Arrays, prefix: str) -> dict[str, Any]:
    """A DataFrame as JSON: its index, its columns' labels and each column's values."""
    return {
        "index": encode_index(frame.index, arrays, prefix),
        "columns": encode_index(frame.columns, arrays, prefix),
        "data": [_encode_values(frame.iloc[:, i], arrays, prefix) for i in range(frame.shape[1])],
    }


def decode_frame(spec: dict[str, Any], arrays: Arrays) -> pd.DataFrame:
    """The inverse of :func:`encode_frame`."""
    index = decode_index(spec["index"], arrays)
    columns = decode_index(spec["columns"], arrays)
    data = {i: _decode_values(col, arrays) for i, col in enumerate(spec["data"])}
    frame: pd.DataFrame = pd.DataFrame(data, index=index)
    frame.columns = columns
    return frame
