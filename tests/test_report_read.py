"""How ``report`` reads a run folder's tables (issue 13): only the columns it uses, text of few
distinct values as categoricals, numbers and True/False the same whichever CSV writer wrote them.

The reference every test holds the reader to is a plain ``pandas.read_csv`` of the whole table,
with :func:`sim.textsafe.restore` applied: the reader must give the same values, column for
column; only the dtypes it declares may differ (a categorical for a code, float64 for a measure).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

from sim.cli import main
from sim.errors import UserError
from sim.report.data import RUN_TABLES, RunData, TableSpec, read_table
from sim.runfolder import sha256, write_csv
from sim.textsafe import neutralise, restore

TEACHING = ROOT / "scenarios" / "teaching-small.yaml"
LOGS = {"incidents.csv": "incidents", "units.csv": "units", "timeseries.csv": "timeseries"}
SMALL = {"kpis.csv": "kpis", "summary.csv": "summary", "percentiles.csv": "percentiles", "sites.csv": "sites"}
FRAMES = {**LOGS, **SMALL, "targets.csv": "targets"}


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A compare folder of teaching-small with formulas in a kecamatan and in TPS ids (written
    neutralised, read back restored), and a sweep folder (``point`` and the varied key)."""
    base = tmp_path_factory.mktemp("read")
    (base / "teaching").mkdir()
    tps = (ROOT / "scenarios" / "teaching" / "tps-6.csv").read_text()
    tps = tps.replace("Sangatta Selatan", "-2+3").replace("SGS-02-001", "=1+1")
    (base / "teaching" / "tps-6.csv").write_text(tps)
    (base / "hostile.yaml").write_text(TEACHING.read_text().replace("Sangatta Selatan", "-2+3"))
    common = ["--reps", "2", "--workers", "1", "--no-report", "--quiet"]
    compare = ["compare", str(base / "hostile.yaml"), "--baseline", "satu_patroli", *common]
    assert main([*compare, "--out", str(base / "compare")]) == 0
    sweep = ["sweep", str(TEACHING), "--vary", "plans.satu_patroli.patrols.0.units=1,2", *common]
    assert main([*sweep, "--out", str(base / "sweep")]) == 0
    return {"compare": base / "compare", "sweep": base / "sweep"}


def _copy(folders: dict[str, Path], kind: str, tmp_path: Path) -> Path:
    out = tmp_path / kind
    shutil.copytree(folders[kind], out)
    return out


def _rehash(folder: Path) -> None:
    """The manifest's checksums made to match the tables again (after a test edited them)."""
    man = folder / "manifest.json"
    record = json.loads(man.read_text(encoding="utf-8"))
    record["files"] = {name: sha256(folder / name) for name in record["files"]}
    man.write_text(json.dumps(record), encoding="utf-8")


def _full_read(path: Path) -> pd.DataFrame:
    """The reference: every column, pandas' own types, text restored."""
    return restore(pd.read_csv(path))


def _same_values(got: pd.Series, want: pd.Series) -> None:
    """Equal cell for cell, missing where missing, whatever the two dtypes."""
    assert len(got) == len(want)
    assert (got.isna().to_numpy() == want.isna().to_numpy()).all(), got.name
    g, w = got.dropna().astype(object).tolist(), want.dropna().astype(object).tolist()
    assert g == w, got.name


@pytest.mark.parametrize("kind", ["compare", "sweep"])
def test_frames_hold_every_value_of_a_full_read_typed_as_declared(folders: dict[str, Path], kind: str) -> None:
    run = RunData.load(folders[kind])
    for name, attr in FRAMES.items():
        got, full = getattr(run, attr), _full_read(folders[kind] / name)
        spec = RUN_TABLES[name]
        # these tables have no column the report leaves out: each is read whole, in the file's order
        # (a sweep's point and varied key included: the charts and the workbook show them)
        assert list(got.columns) == list(full.columns), name
        for c in got.columns:
            _same_values(got[c], full[c])
            if c in spec.codes:
                assert isinstance(got[c].dtype, pd.CategoricalDtype), (name, c)
                assert list(got[c].cat.categories) == sorted(set(full[c].dropna())), (name, c)
            elif c in spec.floats:
                assert got[c].dtype == np.float64, (name, c)
            else:
                assert got[c].dtype == full[c].dtype, (name, c)
    if kind == "sweep":
        assert "point" in run.units.columns
        assert "plans.satu_patroli.patrols.0.units" in run.summary.columns


def test_codes_show_the_scenario_text_not_the_neutralised_cell(folders: dict[str, Path]) -> None:
    written = pd.read_csv(folders["compare"] / "incidents.csv")  # never a formula in Excel
    assert set(written["kecamatan"]) == {"'-2+3"} and "'=1+1" in set(written["site_id"])
    inc = RunData.load(folders["compare"]).incidents
    assert set(inc["kecamatan"]) == {"-2+3"}
    assert "=1+1" in set(inc["site_id"]) and not any(s.startswith("'") for s in inc["site_id"])


def test_a_column_the_report_does_not_use_is_never_read(folders: dict[str, Path], tmp_path: Path) -> None:
    """A large text column added to every log (a later pilkada-sim, a hand): the same frames,
    without it."""
    folder = _copy(folders, "compare", tmp_path)
    before = RunData.load(folder)
    junk = "x" * 2_000
    for name in LOGS:
        lines = (folder / name).read_text(encoding="utf-8").splitlines()
        rows = [lines[0] + ',"notes"', *(f'{line},"{junk}"' for line in lines[1:])]
        (folder / name).write_text("\n".join(rows) + "\n", encoding="utf-8")
    _rehash(folder)
    after = RunData.load(folder)
    for attr in LOGS.values():
        assert "notes" not in getattr(after, attr).columns
        pd.testing.assert_frame_equal(getattr(after, attr), getattr(before, attr))


def _as_written(df: pd.DataFrame) -> pd.DataFrame:
    """A frame read back, its text as the model hands it to the writers (text, not categoricals)."""
    return df.astype({c: object for c in df.columns if isinstance(df[c].dtype, pd.CategoricalDtype)})


def _pandas_csv(df: pd.DataFrame, path: Path) -> None:
    """A table as pilkada-sim wrote it before pyarrow's writer: pandas, 4 decimals, True/False."""
    path.write_text(neutralise(df).to_csv(index=False, float_format="%.4f", lineterminator="\n"), encoding="utf-8")


def test_both_writers_tables_read_into_the_same_frames(folders: dict[str, Path], tmp_path: Path) -> None:
    """Every table rewritten by pandas' writer (``12.5000``, ``True``) and by the folder's own
    (:func:`sim.runfolder.write_csv`) reads back into equal frames, equal to the frames written."""
    run = RunData.load(folders["compare"])
    frames = {}
    for writer in (_pandas_csv, write_csv):
        folder = tmp_path / writer.__name__
        shutil.copytree(folders["compare"], folder)
        for name, attr in FRAMES.items():
            writer(_as_written(getattr(run, attr)), folder / name)
        _rehash(folder)
        frames[writer.__name__] = RunData.load(folder)
    for attr in FRAMES.values():
        for read in frames.values():
            pd.testing.assert_frame_equal(getattr(read, attr), getattr(run, attr))


# --- by hand: both spellings of one small table ------------------------------------------------

SPEC = TableSpec(
    ("replication", "plan", "t", "busy", "flag"),
    numbers=("replication", "t", "busy"),
    flags=("flag",),
    floats=("t",),
    codes=("plan",),
)
PANDAS_FORM = "replication,plan,t,busy,flag\n0,'=1+1,12.5000,2,True\n1,mobile,30.0000,0,False\n2,,0.0000,1,False\n"
PYARROW_FORM = '"replication","plan","t","busy","flag"\n0,"\'=1+1",12.5,2,true\n1,"mobile",30,0,false\n2,"",0,1,false\n'


def _read(tmp_path: Path, text: str) -> pd.DataFrame:
    (tmp_path / "t.csv").write_text(text, encoding="utf-8")
    return read_table(tmp_path, {"files": {"t.csv": ""}}, "t.csv", SPEC)


@pytest.mark.parametrize("text", [PANDAS_FORM, PYARROW_FORM], ids=["pandas", "pyarrow"])
def test_both_spellings_by_hand(tmp_path: Path, text: str) -> None:
    want = pd.DataFrame(
        {
            "replication": np.array([0, 1, 2], dtype=np.int64),
            "plan": pd.Categorical(["=1+1", "mobile", np.nan], categories=["=1+1", "mobile"]),
            "t": np.array([12.5, 30.0, 0.0]),  # float64 although the pyarrow form writes 30 and 0
            "busy": np.array([2, 0, 1], dtype=np.int64),
            "flag": np.array([True, False, False]),
        }
    )
    got = _read(tmp_path, text)
    pd.testing.assert_frame_equal(got, want, check_categorical=False)
    assert list(got["plan"].cat.categories) == ["=1+1", "mobile"]


def test_codes_restore_as_textsafe_does_cell_for_cell(tmp_path: Path) -> None:
    """Restored through the categories: the same texts as :func:`sim.textsafe.restore` on every
    cell, two cells restoring to the same text one category, the categories sorted."""
    cells = ["'=1", "''-5", "'Aisyah", "Kec", "", "=1", "'@x", "'=1"]
    text = "replication,plan,t,busy,flag\n" + "".join(f'{i},"{c}",1.0,1,True\n' for i, c in enumerate(cells))
    got = _read(tmp_path, text)["plan"]
    want = restore(pd.read_csv(tmp_path / "t.csv"))["plan"]
    _same_values(got, want)
    assert got.tolist()[:4] == ["=1", "'-5", "'Aisyah", "Kec"]  # by textsafe's rule, worked by hand
    assert list(got.cat.categories) == sorted({"=1", "'-5", "'Aisyah", "Kec", "@x"})


def test_a_flag_in_neither_spelling_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="flag: holds 'TRUE!'; valid: true, false or empty"):
        _read(tmp_path, "replication,plan,t,busy,flag\n0,a,1.5,1,TRUE!\n")
