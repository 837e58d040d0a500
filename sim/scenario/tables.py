"""A scenario's data tables: the TPS table and the travel-time matrix, read from CSV as people
write them (Excel's BOM, ``;`` separators, decimal commas, trailing empty rows), with every bad
cell named by row and column.

Numbers are read here, once: ``"0,5"`` (one comma, no dot) is 0.5, and in a column of whole
numbers ``"1.403"`` is refused as ambiguous (1.403 or 1,403?). Columns are documented in
``scenarios/README.md``.
"""

from __future__ import annotations

import csv
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import UserError
from sim.scenario.schema import MAX_MINUTES, TPS_CLASSES, TPS_FLAGS

COMMA_DECIMAL = re.compile(r"[+-]?\d*,\d+")  # "0,5", "117,52": one comma, no dot
THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:[.,]\d{3})+")  # "1.403", "12,000": a thousands separator?


MAX_VOTERS_PER_TPS = 100_000  # far above any TPS (PKPU caps Pilkada 2024 TPS at 600); guards int64
TPS_COLUMNS = ("tps_id", "kecamatan", "desa", "lat", "lon", "voters", "class", *TPS_FLAGS)
MAX_TPS = 1_000_000  # TPS rows in one scenario (Kutai Timur has about 700; all Indonesia about 820,000)


def _count_rows(path: Path) -> int:
    """Data rows of a CSV file (lines after the header), counted without parsing."""
    lines, last = 0, b"\n"
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n") - 1


def read_csv_table(path: Path, max_rows: int | None = None, what: str = "rows") -> pd.DataFrame:
    """Read a CSV table as text. Accepts what Excel writes: a UTF-8 BOM, CRLF line ends, ``;`` as
    the separator (with decimal commas) and trailing rows of empty cells."""
    try:
        with path.open("rb") as f:
            head = f.read(65536).decode("utf-8-sig", errors="replace")
    except OSError as exc:
        raise UserError(str(path), None, f"cannot read the file ({exc.__class__.__name__})") from None
    first = head.splitlines()[0] if head.strip() else ""
    sep = ";" if ";" in first and "," not in first else ","
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            df = pd.read_csv(
                path,
                dtype=str,
                encoding="utf-8-sig",
                sep=sep,
                index_col=False,
                keep_default_na=False,  # "NA", "N/A", "null", "nan" are text (a TPS id, a desa), not empty
                na_values=[""],
                nrows=None if max_rows is None else max_rows + 1,
            )
    except pd.errors.ParserWarning:
        raise UserError(
            str(path),
            None,
            'a row has more cells than the header; a decimal comma must be quoted ("0,5") or written 0.5',
        ) from None
    except pd.errors.EmptyDataError:
        raise UserError(str(path), None, "the file is empty; expected a CSV table with a header row") from None
    except UnicodeDecodeError:
        raise UserError(str(path), None, "not UTF-8 text; in Excel use Save As 'CSV UTF-8 (Comma delimited)'") from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise UserError(
            str(path),
            None,
            f"not a readable CSV table ({str(exc).strip()}); a decimal comma in a comma-separated file "
            'must be quoted ("0,5")',
        ) from None
    if max_rows is not None and len(df) > max_rows:
        raise UserError(
            str(path), None, f"{_count_rows(path):,} {what}; at most {max_rows:,} are supported (one kabupaten/kota)"
        )
    header = [c.strip() for c in next(csv.reader([first], delimiter=sep), [])]
    twice = next((c for i, c in enumerate(header) if c and c in header[:i]), None)
    if twice is not None:  # pandas would read the second as 'name.1' and the table would mean the first
        raise UserError(str(path), f"column {twice}", "given twice in the header; keep one")
    df.columns = [str(c).strip() for c in df.columns]
    df = df.dropna(how="all")  # Excel's trailing rows of empty cells
    return df.apply(lambda c: c.str.strip())


def _numbers(df: pd.DataFrame, col: str, path: Path, label: Any, whole: bool = False) -> pd.Series:
    """A text column as numbers, or a :class:`UserError` naming the first bad row.

    ``"0,5"`` (one comma, no dot) is read as 0.5. In a column of whole numbers, ``"1.403"`` is
    refused: it may mean 1.403 or 1,403.
    """
    text = df[col].astype("string")
    if whole:
        lower = text.str.lower()
        text = text.mask((lower == "true").fillna(False), "1").mask((lower == "false").fillna(False), "0")
    comma = text.str.fullmatch(COMMA_DECIMAL.pattern).fillna(False).astype(bool)
    thousands = text.str.fullmatch(THOUSANDS.pattern).fillna(False).astype(bool)
    values = pd.to_numeric(text.mask(comma, text.str.replace(",", ".", regex=False)), errors="coerce").astype(float)
    bad = values.isna() | ~np.isfinite(values)
    if whole:
        bad |= thousands | (values != np.round(values))
    if not bad.any():
        return values
    i = int(np.flatnonzero(bad.to_numpy())[0])
    raw = df[col].iloc[i]
    if pd.isna(raw):
        problem = "empty; a number is needed"
    elif whole and thousands.iloc[i]:
        problem = (
            f"'{raw}' is ambiguous (a decimal, or a thousands separator?); write whole numbers without a "
            f"thousands separator, e.g. {re.sub(r'[.,]', '', raw)}"
        )
    elif whole and np.isfinite(values.iloc[i]):
        problem = f"'{raw}' is not a whole number"
    elif "," in str(raw):
        problem = f"'{raw}' is not a number; write decimals with a dot (0.5) or one decimal comma (0,5)"
    else:
        problem = f"'{raw}' is not a number"
    raise UserError(str(path), label(i), problem)


def load_tps(path: Path, known_kecamatan: set[str] | None = None) -> pd.DataFrame:
    """Read and check a TPS table (CSV). See scenarios/README.md for the columns."""
    df = read_csv_table(path, MAX_TPS, "TPS rows")
    for col in TPS_FLAGS:
        if col not in df.columns:
            df[col] = "0"
    missing = [c for c in TPS_COLUMNS if c not in df.columns]
    if missing:
        raise UserError(str(path), "columns", f"missing {', '.join(missing)}; needed: {', '.join(TPS_COLUMNS)}")
    if len(df) == 0:
        raise UserError(str(path), None, "the TPS table has no rows")

    def label_of(col: str) -> Any:
        return lambda i: f"row {df.index[i] + 2} ({df['tps_id'].iloc[i]}) column {col}"

    text = df.copy()  # the cells as written, for messages
    for col in ("lat", "lon"):
        df[col] = _numbers(df, col, path, label_of(col))
    for col in ("voters", *TPS_FLAGS):
        df[col] = _numbers(df, col, path, label_of(col), whole=True)
    checks = [
        ("lat", (df["lat"] < -90) | (df["lat"] > 90), "latitude must be in -90..90"),
        ("lon", (df["lon"] < -180) | (df["lon"] > 180), "longitude must be in -180..180"),
        (
            "voters",
            (df["voters"] < 0) | (df["voters"] > MAX_VOTERS_PER_TPS),
            f"voters must be between 0 and {MAX_VOTERS_PER_TPS:,} (a TPS serves at most a few hundred)",
        ),
        ("class", ~df["class"].isin(TPS_CLASSES), f"class must be one of {', '.join(TPS_CLASSES)}"),
        ("tps_id", df["tps_id"].duplicated() | df["tps_id"].isna(), "a TPS id must be given and unique"),
        # A flag is yes or no: 2 is a slip (a count in the wrong column?), not "yes".
        *((col, ~df[col].isin((0, 1)), "a flag is 0 or 1 (or TRUE/FALSE)") for col in TPS_FLAGS),
    ]
    if known_kecamatan is not None:
        checks.append(("kecamatan", ~df["kecamatan"].isin(known_kecamatan), "kecamatan has no PPK venue in sites.ppk"))
    for col, bad, msg in checks:
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise UserError(str(path), label_of(col)(row), f"'{text[col].iloc[row]}': {msg}")
    df["voters"] = df["voters"].astype(np.int64)
    for col in TPS_FLAGS:
        df[col] = df[col].astype(bool)
    return df.reset_index(drop=True)


def load_matrix(path: Path) -> pd.DataFrame:
    """A travel-time matrix in long form: columns ``from, to, minutes`` (node ids; minutes 0 to
    :data:`MAX_MINUTES`, the longest scenario window)."""
    df = read_csv_table(path)
    if list(df.columns[:3]) != ["from", "to", "minutes"]:
        raise UserError(str(path), "columns", "expected from,to,minutes")
    minutes = _numbers(df, "minutes", path, lambda i: f"row {df.index[i] + 2} column minutes")
    bad = (minutes < 0) | (minutes > MAX_MINUTES)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise UserError(
            str(path),
            f"row {df.index[row] + 2} column minutes",
            f"'{df['minutes'].iloc[row]}': must be a number from 0 to {MAX_MINUTES:,} (the longest scenario window)",
        )
    df["minutes"] = minutes.astype(float)
    return df.reset_index(drop=True)
