"""The step-through console of ``pilkada-sim exercise --step N``: the exercise played live.

The clock advances N simulated minutes per step. After each step the console prints what
happened (the log lines of the step: injects, reports, dispatches, arrivals, decision points) and
the situation (open incidents by priority, units free/busy/out per post), then reads one command:

========================  =====================================================================
(empty), ``c``            next step
``j 14:00``               jump to a time (any inject time format: ``14:00``, ``H+1 09:00``, ...)
``end``                   run to the end of the simulated period
``fire KIND TARGET ...``  fire an inject now, e.g. ``fire incident SGU-01-012 type=bentrok``
                          ``priority=1 "message=Massa berkumpul"`` (``key=value`` for the other
                          columns of an events list; quote values with spaces)
``out UNIT [DURATION]``   take a unit out of service now (back after DURATION if given)
``back UNIT``             bring a unit back into service
``units``                 list every unit and its state
``help``                  this list
``q`` (or Ctrl-C)         quit: save the timeline so far
========================  =====================================================================

Commands come from standard input, so a script can drive the console through a pipe; the end of
the input runs the exercise to its end. Stepping does not change the result: the same scenario,
seed and injects give the same timeline as a batch run.
"""

from __future__ import annotations

import datetime as dt
import math
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from sim.errors import UserError
from sim.exercise import Exercise
from sim.injects import COLUMNS, InjectReader, parse_time
from sim.records import sites_table
from sim.report.exercise import ExerciseInfo, LogText, Names
from sim.report.i18n import Text

# The console's own words (the log lines are the report layer's); commands stay as typed.
WORDS: dict[str, dict[str, str]] = {
    "help": {
        "id": "perintah: [Enter]/c langkah berikut | j WAKTU lompat | end sampai akhir | "
        "fire JENIS SASARAN kunci=nilai... | out UNIT [DURASI] | back UNIT | units | help | q keluar dan simpan",
        "en": "commands: [Enter]/c next step | j TIME jump | end | fire KIND TARGET key=value... | "
        "out UNIT [DURATION] | back UNIT | units | help | q quit and save",
    },
    "start": {
        "id": "Konsol latihan: rencana {plan}, {step} menit per langkah, sampai {end}. {help}",
        "en": "Exercise console: plan {plan}, {step} min per step, until {end}. {help}",
    },
    "state_at_post": {"id": "di pos", "en": "at post"},
    "state_returning": {"id": "kembali ke pos", "en": "returning"},
    "state_to_scene": {"id": "dalam perjalanan", "en": "on the way"},
    "state_on_scene": {"id": "di lokasi", "en": "on scene"},
    "state_out_of_service": {"id": "TIDAK BEROPERASI", "en": "OUT OF SERVICE"},
    "waiting": {"id": "menunggu", "en": "waiting"},
    "unit_on_the_way": {"id": "unit dalam perjalanan", "en": "unit on the way"},
    "unit_on_scene": {"id": "unit di lokasi", "en": "unit on scene"},
    "age": {"id": "{m} menit", "en": "{m} min"},
    "more": {"id": "... dan {n} lainnya", "en": "... and {n} more"},
    "posts": {"id": "unit bebas/sibuk/tidak beroperasi: ", "en": "units free/busy/out: "},
    "not_later": {
        "id": "{when} tidak lebih lambat dari sekarang ({now})",
        "en": "{when} is not later than now ({now})",
    },
    "input_end": {"id": "(masukan habis: dijalankan sampai akhir)", "en": "(end of input: running to the end)"},
    "quit": {
        "id": "keluar pada {now}: linimasa sejauh ini disimpan",
        "en": "quit at {now}: saving the timeline so far",
    },
    "interrupted": {
        "id": "dihentikan pada {now}: linimasa sejauh ini disimpan",
        "en": "interrupted at {now}: saving the timeline so far",
    },
    "end": {"id": "akhir periode simulasi", "en": "end of the simulated period"},
}
MAX_OPEN_SHOWN = 12


class Console:
    """Drives an :class:`Exercise` step by step from text commands."""

    def __init__(self, ex: Exercise, step_min: float, out: TextIO, prompt: bool = True, lang: str = "id") -> None:
        self.ex, self.step, self.out, self.prompt = ex, step_min, out, prompt
        self.shown = 0  # log rows already printed
        self.decisions_shown = 0
        self.next_number = max((i.number for i in ex.injects), default=0) + 1
        self.reader = InjectReader(Path("console"), ex.sc, ex.world, ex.plan)
        sc = ex.sc
        info = ExerciseInfo(
            sc.name, sc.spec.title, ex.plan, ex.seed, 1, True, sc.epoch, sc.spec.election_day, "", 0.0, ex.queue_alert
        )
        self.messages = {i.number: i.message for i in ex.injects}
        self.names = Names.of(sites_table(sc, ex.world))
        self.text = LogText(lang, self.names, info, self.messages, sc.spec)
        self.words = Text(lang, WORDS)

    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    # --- what is printed ----------------------------------------------------------------------

    def report(self) -> None:
        ex = self.ex
        for row in ex.rows[self.shown :]:
            mark = "!!" if row["event"] == "decision" else ">>" if row["event"] == "inject" else "  "
            point = None
            if row["event"] == "decision":
                point = ex.decisions[self.decisions_shown]
                self.decisions_shown += 1
            self.say(f"{mark} {self.text.line(row, point)}")
        self.shown = len(ex.rows)
        self.say(f"-- {ex.stamp(ex.now)} -- {self.text.situation(ex.situation().__dict__)}")
        d = ex.day
        open_items = sorted(d.open_incidents(), key=lambda x: (x.priority, x.t_report))
        w = ex.world
        for x in open_items[:MAX_OPEN_SHOWN]:
            kind = self.text.type(ex.types.names[x.kind])  # the scenario's label, short
            state = "waiting" if not x.units else "unit_on_the_way" if math.isnan(x.t_arrive) else "unit_on_scene"
            age = self.words("age", m=f"{ex.now - x.t_report:5.0f}")
            site = self.names.site(w.node_ids[x.site])
            self.say(f"   P{x.priority} {kind:<16} {site:<40} {age}  {self.words(state)}")
        if len(open_items) > MAX_OPEN_SHOWN:
            self.say(f"   {self.words('more', n=len(open_items) - MAX_OPEN_SHOWN)}")
        posts: dict[str, list[int]] = {}
        for u in d.unit_states():
            c = posts.setdefault(u.post, [0, 0, 0])
            c[0 if u.state.free else 1 if u.state.busy else 2] += 1
        self.say("   " + self.words("posts") + ", ".join(f"{p} {a}/{b}/{c}" for p, (a, b, c) in posts.items()))

    def units(self) -> None:
        for u in self.ex.day.unit_states():
            name = self.names.unit(u.uid, self.text.t)
            self.say(f"   {u.uid:<28} {name:<40} {self.words('state_' + u.state.code)}")

    # --- commands -----------------------------------------------------------------------------

    def fire(self, kind: str, target: str, options: dict[str, str]) -> None:
        cells = {"number": str(self.next_number), "time": "", "kind": kind, "target": target, **options}
        unknown = [k for k in options if k not in COLUMNS or k in ("number", "time", "kind", "target")]
        if unknown:
            raise UserError("console", unknown[0], "unknown option; use type, priority, value, duration, role, message")
        cells["time"] = f"{self.ex.sc.epoch + dt.timedelta(minutes=self.ex.now):%Y-%m-%dT%H:%M:%S}"
        inj = self.reader.row("command", cells)
        known = [u.uid for u in self.ex.day.unit_states()]
        if inj.kind in ("unit_out", "unit_back") and inj.target not in known:
            ids = ", ".join(known[:8])
            raise UserError("console", "target", f"unknown unit '{inj.target}'; e.g. {ids} (see 'units')")
        self.next_number += 1
        self.messages[inj.number] = inj.message
        self.ex.fire(inj)
        env = self.ex.day.env
        while env.peek() <= env.now:  # let what the inject sets off now happen before the next prompt
            env.step()

    def command(self, line: str) -> str:
        """Act on one command line; returns 'step', 'stay', 'end' or 'quit'."""
        try:
            words = shlex.split(line)
        except ValueError as exc:
            self.say(f"?? {exc}")
            return "stay"
        if not words or words[0] in ("c", "continue", "n", "next"):
            self.ex.advance(self.ex.now + self.step)
            return "step"
        cmd, args = words[0].lower(), words[1:]
        try:
            if cmd in ("j", "jump") and args:
                t = parse_time(" ".join(args), self.ex.sc)
                if t <= self.ex.now:
                    self.say(f"?? {self.words('not_later', when=' '.join(args), now=self.ex.stamp(self.ex.now))}")
                    return "stay"
                self.ex.advance(t)
                return "step"
            if cmd == "end":
                self.ex.advance(self.ex.horizon)
                return "end"
            if cmd in ("q", "quit", "exit"):
                return "quit"
            if cmd == "units":
                self.units()
                return "stay"
            if cmd == "fire" and len(args) >= 2:
                options = {a.partition("=")[0]: a.partition("=")[2] for a in args[2:]}
                self.fire(args[0], args[1], options)
                return "fired"
            if cmd == "out" and args:
                self.fire("unit_out", args[0], {"duration": args[1]} if len(args) > 1 else {})
                return "fired"
            if cmd == "back" and args:
                self.fire("unit_back", args[0], {})
                return "fired"
        except UserError as err:
            self.say(f"?? {err.key}: {err.problem}" if err.key else f"?? {err.problem}")
            return "stay"
        except ValueError as exc:
            self.say(f"?? {exc}")
            return "stay"
        self.say(self.words("help"))
        return "stay"

    def run(self, read: Callable[[], str | None]) -> bool:
        """Play until the end or ``q``; ``read`` gives the next command (None at the end of input).
        Returns True if the exercise reached its end."""
        ex = self.ex
        ex.start()
        w = self.words
        self.say(w("start", plan=ex.plan, step=f"{self.step:g}", end=ex.stamp(ex.horizon), help=w("help")))
        first = min([i.t for i in ex.injects] + [ex.sc.timeline.voting_start])
        ex.advance(max(first - self.step, 0.0) // self.step * self.step)
        self.report()
        try:
            return self._loop(read)
        except KeyboardInterrupt:  # Ctrl-C at the prompt: as 'q', nothing played is lost
            self.say("\n" + self.words("interrupted", now=ex.stamp(ex.now)))
            return False

    def _loop(self, read: Callable[[], str | None]) -> bool:
        ex = self.ex
        while ex.now < ex.horizon:
            if self.prompt:
                self.out.write(f"[{ex.stamp(ex.now)}] > ")
                self.out.flush()
            line = read()
            if line is None:
                self.say(self.words("input_end"))
                ex.advance(ex.horizon)
                self.report()
                break
            result = self.command(line.strip())
            if result == "quit":
                self.say(self.words("quit", now=ex.stamp(ex.now)))
                return False
            if result in ("step", "end", "fired"):
                self.report()
        self.say(self.words("end"))
        return True


def stdin_reader(stream: TextIO) -> Callable[[], str | None]:
    def read() -> str | None:
        line = stream.readline()
        return None if line == "" else line

    return read
