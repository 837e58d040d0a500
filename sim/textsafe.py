"""Text from the scenario in a spreadsheet cell: neutralised so it is never run as a formula, and
restored exactly when read back.

Names, TPS ids, desa, post names and events-list text come from the user; a CSV or workbook cell
that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (:data:`FORMULA_START`) may
be taken for a formula by Excel or LibreOffice. The one rule, for ``runfolder.write_csv`` and the
workbook alike:

- a text is *risky* when, after any apostrophes it starts with, it starts with one of
  :data:`FORMULA_START` (``=1``, ``\\t=1``, ``'=1``, ``''-5``);
- :func:`neutral_text` puts one apostrophe before a risky text and leaves every other text as it
  is (``Sangatta``, ``'Aisyah``, ``''`` stay byte for byte);
- :func:`restore_text` removes one leading apostrophe from a risky text that starts with one, and
  leaves every other text as it is.

A neutralised text is always risky and starts with an apostrophe, and an unchanged text is never
both, so ``restore_text(neutral_text(s)) == s`` for every string ``s`` (``'=1`` becomes ``''=1``
and back). Numbers, booleans and empty cells are never touched. Reports read the tables through
:func:`restore`, so they show the text as the scenario gave it, not the added apostrophe.
"""

from __future__ import annotations

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def _risky(s: str) -> bool:
    return s.lstrip(QUOTE).startswith(FORMULA_START)


def neutral_text(s: str) -> str:
    """One cell's text as written: a leading apostrophe if it is risky (see the module's rule)."""
    return QUOTE + s if _risky(s) else s


def restore_text(s: str) -> str:
    """One cell's text as the scenario gave it: the inverse of :func:`neutral_text`."""
    return s[1:] if s.startswith(QUOTE) and _risky(s) else s


def _text_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if df[c].dtype == object or pd.api.types.is_string_dtype(df[c])]


def _risky_mask(text: pd.Series) -> pd.Series | None:
    """Per cell: a text that is risky (False for non-text cells); None for a column without text."""
    try:
        return text.str.lstrip(QUOTE).str.startswith(FORMULA_START).fillna(False).astype(bool)
    except AttributeError:  # an object column that holds no text
        return None


def neutralise(df: pd.DataFrame) -> pd.DataFrame:
    """The table with :func:`neutral_text` applied to every text cell (the same frame if none is risky)."""
    out = df
    for col in _text_columns(df):
        text = df[col]
        risky = _risky_mask(text)
        if risky is not None and risky.any():
            if out is df:
                out = df.copy()
            out[col] = text.where(~risky, QUOTE + text.astype(str))
    return out


def restore(df: pd.DataFrame) -> pd.DataFrame:
    """The table with :func:`restore_text` applied to every text cell: ``restore(neutralise(df))``
    equals ``df`` (the same frame if no cell was neutralised)."""
    out = df
    for col in _text_columns(df):
        text = df[col]
        risky = _risky_mask(text)
        if risky is None:
            continue
        quoted = risky & text.str.startswith(QUOTE).fillna(False).astype(bool)
        if quoted.any():
            if out is df:
                out = df.copy()
            out[col] = text.where(~quoted, text.astype(str).str.slice(1))
    return out


def one_line_break(df: pd.DataFrame) -> pd.DataFrame:
    """The table with every carriage return in a text cell written as a line feed.

    The CSV writer ends rows with ``\\n`` and quotes a cell holding one, but not a cell holding a
    lone ``\\r``, which a reader then takes for the end of a row (a kecamatan ``Kec\\rX`` split the
    rows of ``incidents.csv``). A line break stays a line break; the table stays one row per row.
    """
    out = df
    for col in _text_columns(df):
        text = df[col]
        try:
            has_cr = text.str.contains("\r", regex=False).fillna(False).astype(bool)
        except AttributeError:  # an object column that holds no text
            continue
        if has_cr.any():
            if out is df:
                out = df.copy()
            out[col] = text.where(~has_cr, text.astype(str).str.replace("\r\n", "\n").str.replace("\r", "\n"))
    return out
