"""Validate the caller's data and describe it without copying or changing it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .errors import MiaTypeError, MiaValueError
from .people import People, check_people, people_of

__all__ = [
    "AuditData",
    "as_float_array",
    "check_columns",
    "check_frame",
    "check_view_columns",
    "fingerprint_frame",
    "prepare_data",
]


@dataclass(frozen=True)
class AuditData:
    """The caller's member (train) and non-member (test) sets, validated.

    ``train`` and ``test`` are the caller's own objects; nothing here writes to them.
    Records are ordered members first, then non-members, in each frame's own order.
    """

    train: pd.DataFrame
    test: pd.DataFrame
    target: str
    features: tuple[str, ...]
    pass_frame: bool  # query the model with a DataFrame (True) or a numpy array
    people: People | None = None  # whose data each row is (the ``person`` option)

    @property
    def n_train(self) -> int:
        return len(self.train)

    @property
    def n_test(self) -> int:
        return len(self.test)

    @property
    def members(self) -> np.ndarray:
        """Bool array of shape (n_train + n_test,): True for members."""
        return np.concatenate([np.ones(self.n_train, bool), np.zeros(self.n_test, bool)])

    def model_input(self, frame: pd.DataFrame, start: int = 0, stop: int | None = None) -> Any:
        """Rows ``start:stop`` of ``frame`` in the form the model was fitted on."""
        part = frame.iloc[start:stop][list(self.features)]
        return part if self.pass_frame else part.to_numpy()

    def labels(self) -> pd.Series:
        """Target values of every record, members first (a new Series)."""
        return pd.concat([self.train[self.target], self.test[self.target]], ignore_index=True)

    def column(self, name: str) -> pd.Series:
        """Values of column ``name`` for every record, members first (a new Series)."""
        return pd.concat([self.train[name], self.test[name]], ignore_index=True)


def fingerprint_frame(df: pd.DataFrame) -> str:
    """A stable hash of a dataframe's index, columns and values."""
    h = hashlib.sha256()
    h.update(repr(list(df.columns)).encode())
    h.update(repr([str(t) for t in df.dtypes]).encode())
    try:
        values = pd.util.hash_pandas_object(df, index=True).to_numpy()
        h.update(values.tobytes())
    except TypeError:  # unhashable cells (lists, dicts): fall back to their repr
        h.update(df.to_csv().encode())
    return h.hexdigest()[:16]


def check_frame(name: str, df: object) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise MiaTypeError(
            f"The '{name}' parameter must be a pandas DataFrame. Got {type(df).__name__} instead."
        )
    if len(df) == 0:
        raise MiaValueError(f"The '{name}' dataframe is empty. Pass the rows to audit.")
    if not df.columns.is_unique:
        dups = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
        raise MiaValueError(f"The '{name}' dataframe has duplicated column names: {dups}.")
    return df


def _model_feature_names(model: Any, train: pd.DataFrame) -> list[str] | None:
    """Column names the model was fitted on: scikit-learn's ``feature_names_in_``, or
    another library's ``feature_names_`` (CatBoost) when they are columns of ``train``
    (a model fitted on an array has made-up names such as '0', '1')."""
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        return [str(n) for n in names]
    other = getattr(model, "feature_names_", None)
    if isinstance(other, list | tuple) and other:
        cols = {str(c) for c in train.columns}
        if all(str(n) in cols for n in other):
            return [str(n) for n in other]
    return None


def _resolve_features(
    model: Any,
    train: pd.DataFrame,
    target: str,
    features: Sequence[str] | None,
    person: str | None = None,
) -> tuple[tuple[str, ...], bool]:
    """Feature columns, in model order, and whether to pass a DataFrame to the model.

    The ``person`` column is never a default feature (only when the model was fitted on
    it, or ``features`` names it)."""
    fitted = _model_feature_names(model, train)
    if features is not None:
        feats = [str(f) for f in features]
        if not feats:
            raise MiaValueError("The 'features' parameter is empty. Name at least one column.")
        if target in feats:
            raise MiaValueError(
                f"The target column '{target}' is also listed in 'features'. Remove it."
            )
        if fitted is not None and set(feats) != set(fitted):
            missing = sorted(set(fitted) - set(feats))
            extra = sorted(set(feats) - set(fitted))
            raise MiaValueError(
                "The 'features' do not match the columns the model was fitted on"
                + (f"; missing {missing}" if missing else "")
                + (f"; not seen in fit {extra}" if extra else "")
                + ". Omit --features to use the model's own columns."
            )
        if fitted is not None:
            feats = fitted
    elif fitted is not None:
        feats = fitted
    else:
        feats = [str(c) for c in train.columns if c not in (target, person)]
    n_in = getattr(model, "n_features_in_", None)
    if fitted is None and n_in is not None and int(n_in) != len(feats):
        raise MiaValueError(
            f"The model was fitted on {int(n_in)} features but {len(feats)} columns were "
            f"selected ({feats[:8]}{'...' if len(feats) > 8 else ''}). "
            "Pass --features with the columns used in fit, in order."
        )
    return tuple(feats), fitted is not None or n_in is None


def check_columns(name: str, df: pd.DataFrame, needed: Sequence[str]) -> None:
    cols = {str(c) for c in df.columns}
    missing = [c for c in needed if c not in cols]
    if missing:
        raise MiaValueError(
            f"The '{name}' dataframe has no column(s) {missing}. "
            f"Available: {sorted(cols)[:12]}{'...' if len(cols) > 12 else ''}."
        )


def _check_no_shared_rows(train: pd.DataFrame, test: pd.DataFrame, cols: Sequence[str]) -> None:
    shared = train.index.intersection(test.index)
    if len(shared) == 0 or not train.index.is_unique or not test.index.is_unique:
        return
    a = train.loc[shared, list(cols)]
    b = test.loc[shared, list(cols)]
    same = (a == b) | (a.isna() & b.isna())
    n_same = int(same.all(axis=1).sum())
    if n_same:
        example = list(shared[same.all(axis=1).to_numpy()][:3])
        raise MiaValueError(
            f"{n_same} row(s) appear in both train and test with the same index and values "
            f"(e.g. index {example}). A record cannot be both a member and a non-member: "
            "pass disjoint splits (e.g. from train_test_split)."
        )


def prepare_data(
    model: Any,
    train: object,
    test: object,
    target: object,
    features: Sequence[str] | None = None,
    person: str | None = None,
) -> AuditData:
    """Validate ``train``/``test``/``target``/``features`` against ``model``, and with
    ``person``, that no person has rows in both frames."""
    train_df = check_frame("train", train)
    test_df = check_frame("test", test)
    if not isinstance(target, str) or not target:
        raise MiaTypeError(
            f"The 'target' parameter must be a column name (str). Got {target!r} instead."
        )
    check_columns("train", train_df, [target])
    check_columns("test", test_df, [target])
    if person is not None:
        check_people(train_df, test_df, person)
    feats, pass_frame = _resolve_features(model, train_df, target, features, person)
    check_columns("train", train_df, feats)
    check_columns("test", test_df, feats)
    for name, df in (("train", train_df), ("test", test_df)):
        n_missing = int(df[target].isna().sum())
        if n_missing:
            raise MiaValueError(
                f"The target column '{target}' has {n_missing} missing value(s) in '{name}'. "
                "Drop those rows first."
            )
    _check_no_shared_rows(train_df, test_df, [*feats, target])
    people = None if person is None else people_of(train_df, test_df, person)
    return AuditData(train_df, test_df, target, feats, pass_frame, people)


def as_float_array(values: Any) -> np.ndarray:
    """Numeric values of a Series/array as float64 (nullable dtypes included)."""
    if isinstance(values, pd.Series):
        return values.astype("float64").to_numpy()
    return np.asarray(values, dtype=np.float64)


def check_view_columns(
    slice: str | None,
    redact: Sequence[str],
    train_columns: Iterable[Any],
    test_columns: Iterable[Any],
) -> None:
    """Check the view options that name columns against the audited frames.

    ``slice`` must be a column of both frames (metrics are computed over all records);
    ``redact`` columns must exist in ``train`` (the frame whose rows are listed).
    """
    train = {str(c) for c in train_columns}
    test = {str(c) for c in test_columns}
    unknown = [c for c in redact if c not in train]
    if unknown:
        raise MiaValueError(
            f"Cannot redact {unknown}: no such column in train. Columns: {sorted(train)[:12]}."
        )
    if slice is None or slice in train & test:
        return
    where = "test" if slice in train else "train" if slice in test else "train or test"
    raise MiaValueError(
        f"Cannot slice by '{slice}': it is not a column of {where}. The slice column "
        f"must be in both frames; columns of both: {sorted(train & test)[:12]}."
    )
