"""The README's account of the demo, generated from the demo (``make readme``; tests/test_readme.py).

The demo's main job is the command of the Makefile's ``demo`` recipe that writes a run folder
(``pilkada-sim compare scenarios/kutim-2024.yaml --baseline pemilu2024``). This script runs that
command (without the report) into a temporary folder and renders two blocks of README.md from
what it printed and wrote:

- ``demo-output``: what the command prints, as it prints it (the run folder line left out);
- ``demo-claims``: the paragraph that reads the output, every figure in it taken from the
  folder's tables (summary.csv, comparison.csv, the plans' personnel) with the rounding of the
  printed tables;
- ``demo-verdict``: the briefing's verdict, in Bahasa Indonesia, as the briefing words it
  (:func:`sim.report.content.briefing_content`).

``python docs/readme_demo.py`` rewrites the blocks in README.md; ``--check`` exits 1 when they
differ from what the demo gives now.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import sys
import tempfile
import textwrap
from pathlib import Path

import pandas as pd

from sim.cli import main as cli
from sim.report.content import briefing_content
from sim.report.data import RunData

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BLOCK = re.compile(r"(<!-- (demo-output|demo-claims|demo-verdict): .*? -->\n)(.*?)(<!-- /\2 -->)", re.S)
WIDTH = 100  # the verdict block's lines are wrapped here


def demo_command() -> list[str]:
    """The arguments of the Makefile demo's run-folder command (``compare`` or ``run``)."""
    recipe = (ROOT / "Makefile").read_text().split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    for line in recipe.splitlines():
        words = shlex.split(line.strip())
        if len(words) > 1 and words[0].endswith("pilkada-sim") and words[1] in ("run", "compare"):
            return words[1:]
    raise SystemExit("Makefile: the demo recipe has no 'pilkada-sim run|compare' line")


def run_demo(out: Path) -> str:
    """Run the demo's command into ``out`` without the report; what it printed, folder line left out."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = cli([*demo_command(), "--no-report", "--out", str(out)])
    if code:
        raise SystemExit(f"the demo command failed with exit code {code}")
    return "".join(line for line in printed.getvalue().splitlines(keepends=True) if not line.startswith("run folder:"))


def _mean(summary: pd.DataFrame, plan: str, kpi: str) -> float:
    return float(summary.loc[(summary["plan"] == plan) & (summary["kpi"] == kpi), "mean"].iloc[0])


def _paired(comparison: pd.DataFrame, plan: str, kpi: str) -> pd.Series:
    return comparison[(comparison["plan"] == plan) & (comparison["kpi"] == kpi)].iloc[0]


def claims(out: Path) -> str:
    """The paragraph reading the demo's output, worded from the folder's tables."""
    run = RunData.load(out)
    s, c = run.summary, run.comparison
    base = run.baseline
    assert base is not None and c is not None, "the demo is a compare"
    mobile, thin = (p for p in run.plans if p != base)
    m = {p: _mean(s, p, "response_mean_min") for p in run.plans}
    w = {p: _mean(s, p, "within_target") for p in run.plans}
    p1 = {p: _mean(s, p, "within_target_p1") for p in run.plans}
    d = _paired(c, mobile, "response_mean_min")
    dw = _paired(c, mobile, "within_target")
    people = run.personnel()
    polri = {p: int(people.loc[p, "polri"]) for p in run.plans}
    reps = run.replications
    return (
        f"Read it as: on the same {reps} simulated days (common random numbers), on average "
        f"{_mean(s, base, 'incidents'):.1f} incidents occur over the whole window; Linmas and guards settle most "
        f"of them on site and {_mean(s, base, 'dispatched'):.1f} need a unit "
        f"({_mean(s, base, 'reached_share'):.0%} of those are reached before the end). With the Kutim Pemilu 2024 "
        f"pola pengamanan (`{base}`) the first unit arrives on average {m[base]:.1f} minutes after the report, and "
        f"{w[base]:.0%} of incidents are reached within their target, but only {p1[base]:.0%} of the priority-1 "
        f"ones (clashes, crowds at the plenary: their targets are the tightest, see *Targets and the one p90*). "
        f"The mobile-heavy plan (`{mobile}`: kurang rawan TPS thinned, two or three cars per Polsek instead of one) "
        f"cuts the mean to {m[mobile]:.1f} minutes ({abs(d['difference']):.1f} min shorter on the same days, 95% "
        f"interval [{abs(d['ci_high']):.1f}, {abs(d['ci_low']):.1f}]) and reaches {w[mobile]:.0%} within target "
        f"({dw['difference'] * 100:+.1f} points; {p1[mobile]:.0%} of priority 1), for {polri[mobile]} Polri on "
        f"duty instead of {polri[base]}; the thin plan (`{thin}`, {polri[thin]} Polri) reaches only "
        f"{w[thin]:.0%} within target. The per-kecamatan chart of the briefing shows where. The incident rates "
        f"and most travel parameters are estimates (each marked in the scenario): the comparison between plans "
        f"is the robust part, not the absolute minutes.\n"
    )


def verdict(out: Path) -> str:
    """The briefing's verdict sentences in Bahasa Indonesia, wrapped, as a text block."""
    sentences = briefing_content(RunData.load(out), "id").verdict
    text = "\n\n".join(textwrap.fill(v, WIDTH, break_on_hyphens=False) for v in sentences)
    return f"```text\n{text}\n```\n"


def blocks(out: Path) -> dict[str, str]:
    """Each generated README block's text, from a fresh demo run into ``out``."""
    printed = run_demo(out)
    return {"demo-output": f"```text\n{printed}```\n", "demo-claims": claims(out), "demo-verdict": verdict(out)}


def rewrite(text: str, new: dict[str, str]) -> str:
    """README text with each marked block replaced by ``new``'s (every block must be there)."""
    seen = set()

    def one(m: re.Match[str]) -> str:
        seen.add(m.group(2))
        return m.group(1) + new[m.group(2)] + m.group(4)

    out = BLOCK.sub(one, text)
    missing = set(new) - seen
    if missing:
        raise SystemExit(f"README.md: no <!-- {', '.join(sorted(missing))}: ... --> block")
    return out


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        new = rewrite(README.read_text(encoding="utf-8"), blocks(Path(tmp) / "demo"))
    if "--check" in argv:
        return int(new != README.read_text(encoding="utf-8"))
    README.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
