"""Atheris fuzz target for the scenario loader (``sim.scenario.load_scenario``).

Each input is written as a scenario YAML file into a temporary folder that also holds copies of
the trace scenario's tables (``trace_tps.csv``, ``trace_matrix.csv``), so inputs that name those
tables get past the YAML and schema checks into the table and timeline checks. The loader must
either return a scenario or raise :class:`sim.errors.UserError` (the one-line error the CLI prints
with exit 2); any other exception is a finding and propagates to the fuzzer.

    .venv/bin/python fuzz/fuzz_loader.py -max_total_time=60 fuzz/corpus   # needs atheris
    .venv/bin/python fuzz/fuzz_loader.py --selftest                       # no atheris needed

atheris is imported only when fuzzing, so this file imports without it. See fuzz/README.md.
"""

from __future__ import annotations

import atexit
import contextlib
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sim.errors import UserError  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402

CHECKS = ROOT / "scenarios" / "checks"
TABLES = ("trace_tps.csv", "trace_matrix.csv")

_folder: Path | None = None


def _workdir() -> Path:
    """One temporary folder per process with copies of the trace tables (made on first use)."""
    global _folder
    if _folder is None:
        _folder = Path(tempfile.mkdtemp(prefix="fuzz_loader_"))
        atexit.register(shutil.rmtree, _folder, True)
        for name in TABLES:
            shutil.copy(CHECKS / name, _folder / name)
    return _folder


def TestOneInput(data: bytes) -> None:
    """Load ``data`` as a scenario file: a scenario or a UserError are fine, anything else is a bug."""
    path = _workdir() / "scenario.yaml"
    path.write_bytes(data)
    with contextlib.suppress(UserError):
        load_scenario(path)


def seed_inputs() -> list[bytes]:
    """A few inputs for --selftest and for a starting corpus: the trace scenario and broken variants."""
    trace = (CHECKS / "trace.yaml").read_bytes()
    return [
        trace,
        trace.replace(b'horizon: "H+1 00:00"', b'horizon: "25:00"'),
        trace.replace(b"tps_file: trace_tps.csv", b"tps_file: missing.csv"),
        trace.replace(b"forces: {polri: 10, linmas: 10}", b"forces: {polri: -1}"),
        trace.replace(b"mean: 30", b'mean: "0,5"'),
        trace[: len(trace) // 2],
        b"",
        b"name: [",
        b"- just\n- a list\n",
        b"\xff\xfe\x00garbage",
        b"name: x\n",
    ]


def selftest() -> int:
    inputs = seed_inputs()
    for data in inputs:
        TestOneInput(data)
    print(f"selftest: {len(inputs)} inputs, no unexpected exception")
    return 0


def main(argv: list[str]) -> int:
    if "--selftest" in argv[1:]:
        return selftest()
    import atheris  # lazily: only fuzzing needs it

    if hasattr(atheris, "instrument_all"):
        atheris.instrument_all()  # sim, yaml, pandas ... are already imported: instrument them now
    atheris.Setup(argv, TestOneInput)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
