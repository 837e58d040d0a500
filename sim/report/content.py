"""What the briefing says, computed from a finished run folder and worded in one language.

``briefing_content(run, lang)`` returns a :class:`Briefing`: plain strings and rows, already
formatted (``1.403``, ``12,5``, ``27 November 2024`` in Indonesian), so that the HTML, PDF and
PowerPoint writers in ``documents.py`` only lay them out. Everything comes from the saved tables
and the manifest; nothing is rerun.

A confirmation folder of ``optimize`` (:class:`sim.report.data.Optimization`) adds the optimization
page (:func:`optimization_page`, ``Briefing.optimization``): the verdict in personnel (the plans
table's :meth:`~sim.report.data.RunData.personnel`), what changes where, the evidence per target
group, how the search ran, and the weak spots left. Any other folder's briefing is as before.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from collections import Counter
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from sim import metrics
from sim.report.data import (
    TARGET_SHARE,
    Constraint,
    Optimization,
    RunData,
    SweepVerdict,
    dispatched,
    kecamatan_table,
    pooled_response_percentile,
    share_as_shown,
    sweep_verdicts,
    weakest_first,
)
from sim.report.i18n import (
    LABELS,
    OPTIMIZER_KPIS,
    UNIT_SECTIONS,
    UNIT_WORDS,
    Text,
    code_label,
    date,
    force_label,
    kpi_label,
    number,
    objective,
    objective_label,
    percent,
    tps_class_label,
    value_label,
)
from sim.scenario.plans import DUTIES, personnel_by_duty
from sim.scenario.schema import Assumption, Plan, Scenario

TOP_KECAMATAN = 5  # weak kecamatan listed per plan
MISSED_NAMED = 3  # targets missed named in the optimization verdict (the weak spots list every one)
MIN_INCIDENTS = 10  # fewer dispatched incidents than this (pooled) are flagged as little data
# an hour of the day needs max(MIN_INCIDENTS, replications) dispatched incidents (pooled) to be named weakest

TIMEZONE_NAMES = {"Asia/Makassar": "WITA", "Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB", "Asia/Jayapura": "WIT"}

DOC_WORDS: dict[str, dict[str, str]] = {
    # section headings, in the order of the briefing
    "h_question": {"id": "Pertanyaan", "en": "The question"},
    "h_plans": {"id": "Perbandingan rencana", "en": "Plans side by side"},
    "h_verdict": {"id": "Kesimpulan utama", "en": "Headline verdict"},
    "h_charts": {"id": "Grafik", "en": "Charts"},
    "h_weak": {"id": "Titik lemah", "en": "Weak spots"},
    "h_assumptions": {"id": "Asumsi dan sumber", "en": "Assumptions and sources"},
    "h_run": {"id": "Cara hasil ini dibuat", "en": "How the run was made"},
    "h_points": {"id": "Hasil per titik variasi", "en": "Results per sweep point"},
    "h_weak_kec": {"id": "Kecamatan di bawah target", "en": "Kecamatan below their targets"},
    "h_weak_hours": {"id": "Jam rawan", "en": "Weak hours of the day"},
    "h_sources": {"id": "Daftar sumber", "en": "Sources"},
    "h_description": {"id": "Tentang skenario", "en": "About the scenario"},
    # run kinds
    "kind_run": {"id": "Simulasi rencana", "en": "Plan run"},
    "kind_compare": {"id": "Perbandingan dengan rencana acuan", "en": "Comparison with a reference plan"},
    "kind_sweep": {"id": "Variasi parameter", "en": "Parameter sweep"},
    "subtitle": {
        "id": "{kind} · pemungutan suara {day} · {reps} replikasi · seed {seed}",
        "en": "{kind} · election day {day} · {reps} replications · seed {seed}",
    },
    "context": {
        "id": "{tps} TPS di {kec} kecamatan · {voters} pemilih (DPT)",
        "en": "{tps} TPS in {kec} kecamatan · {voters} voters (DPT)",
    },
    # questions
    "q_compare": {
        "id": "Apakah rencana {plans} lebih baik dari rencana acuan {baseline}, seberapa besar, dengan biaya apa, "
        "dan seberapa yakin?",
        "en": "Is plan {plans} better than the reference plan {baseline}, by how much, at what cost, and how sure "
        "are we?",
    },
    "q_run": {
        "id": "Bagaimana kinerja rencana {plans} terhadap target waktu tanggap tiap kecamatan?",
        "en": "How do plans {plans} perform against each kecamatan's response-time target?",
    },
    "q_sweep": {
        "id": "Bagaimana proporsi kejadian yang didatangi dalam target dan waktu tanggap berubah bila {keys} "
        "diubah ({values})?",
        "en": "How do the share of incidents reached within target and the response time change as {keys} "
        "varies ({values})?",
    },
    "or": {"id": "atau", "en": "or"},
    "and": {"id": "dan", "en": "and"},
    # plans table
    "personnel_row": {"id": "Personel {kind} ({ua})", "en": "{kind} personnel ({ua})"},
    "personnel_kind": {"id": "Personel {kind}", "en": "{kind} personnel"},
    "used_available": {"id": "dipakai / tersedia", "en": "used / available"},
    "personnel_note": {"id": "Personel: {ua}.", "en": "Personnel: {ua}."},
    "plans_note": {
        "id": "Angka dalam kurung: selang kepercayaan 95%. Rata-rata atas {reps} replikasi (hari simulasi); p90 "
        "gabungan atas semua kejadian semua replikasi (interval bootstrap). Waktu tanggap dihitung atas kejadian "
        "yang perlu unit; kejadian yang tidak pernah didatangi dihitung sampai akhir simulasi (batas bawah), maka "
        "proporsi didatangi ditunjukkan di sampingnya. 'Dalam target': didatangi dalam target kecamatannya untuk "
        "prioritas kejadian itu. 'Menunggu': kejadian yang harus menunggu unit bebas.",
        "en": "In brackets: 95% confidence interval. Means over {reps} replications (simulated days); pooled p90 "
        "over all incidents of all replications (bootstrap interval). Response times are over incidents needing a "
        "unit; one never reached counts until the end of the simulation (a lower bound), hence the share reached "
        "beside them. 'Within target': reached within the kecamatan's target for the incident's priority. "
        "'Waited': incidents that had to wait for a free unit.",
    },
    "plans_note_sweep": {
        "id": "Personel dihitung pada nilai dasar skenario; angka kinerja per titik variasi ada di tabel berikut.",
        "en": "Personnel at the scenario's base values; performance per sweep point is in the next table.",
    },
    "available": {"id": "tersedia", "en": "available"},
    "plan": {"id": "Rencana", "en": "Plan"},
    "point": {"id": "Titik", "en": "Point"},
    # verdict
    "v_better": {"id": "lebih baik", "en": "better"},
    "v_worse": {"id": "lebih buruk", "en": "worse"},
    "v_ns": {"id": "tidak nyata", "en": "not significant"},
    "v_none": {"id": "tidak ada selisih", "en": "no difference"},
    "sig": {"id": "nyata secara statistik", "en": "statistically significant"},
    "not_sig": {
        "id": "tidak nyata secara statistik (selang mencakup nol)",
        "en": "not statistically significant (the interval includes zero)",
    },
    "shorter": {"id": "{x} menit lebih cepat", "en": "{x} min shorter"},
    "longer": {"id": "{x} menit lebih lambat", "en": "{x} min longer"},
    "points": {"id": "{x} poin persentase", "en": "{x} percentage points"},
    "range": {"id": "{lo} s.d. {hi}", "en": "{lo} to {hi}"},
    "ci_range": {"id": "selang kepercayaan 95% {lo}", "en": "95% CI {lo}"},
    "verdict_yes": {
        "id": "Ya: rencana {plan} lebih baik dari rencana acuan {baseline}; kejadian yang didatangi dalam target "
        "naik secara nyata.",
        "en": "Yes: plan {plan} is better than the reference plan {baseline}; the share of incidents reached "
        "within target rises significantly.",
    },
    "verdict_unproven": {
        "id": "Belum terbukti: tidak ada rencana yang nyata lebih baik dari rencana acuan {baseline} dalam proporsi "
        "kejadian yang didatangi dalam target.",
        "en": "Not shown: no plan is significantly better than the reference plan {baseline} in the share of "
        "incidents reached within target.",
    },
    "verdict_no": {
        "id": "Tidak: semua rencana nyata lebih buruk dari rencana acuan {baseline} dalam proporsi kejadian yang "
        "didatangi dalam target.",
        "en": "No: every plan is significantly worse than the reference plan {baseline} in the share of incidents "
        "reached within target.",
    },
    # the trade-off of one plan against the reference plan: minutes gained, and what it costs
    "trade_off": {
        "id": "{plan} dibanding {baseline}: rata-rata waktu tanggap {response}; didatangi dalam target {within}; "
        "{cost}; TPS tanpa penjaga saat puncak {unguarded}.",
        "en": "{plan} against {baseline}: mean response {response}; reached within target {within}; {cost}; "
        "unguarded TPS at the peak {unguarded}.",
    },
    "from_to": {"id": "{b} → {p}", "en": "{b} → {p}"},
    "from_to_min": {"id": "{b} → {p} menit", "en": "{b} → {p} min"},
    "paired": {"id": " ({words}; {ci}; {sig})", "en": " ({words}; {ci}; {sig})"},
    "sig_short": {"id": "nyata", "en": "significant"},
    "not_sig_short": {"id": "tidak nyata", "en": "not significant"},
    "unpaired": {
        "id": "Selisih antarrencana di sini tidak diuji berpasangan, jadi tanpa selang kepercayaan 95% untuk "
        "selisihnya.",
        "en": "The differences between plans here are not tested in pairs, so they have no 95% confidence interval.",
    },
    "cost_moved": {"id": "{n} {kind} dipindah dari {src} ke {dst}", "en": "{n} {kind} moved from {src} to {dst}"},
    "cost_more": {"id": "{items} tambahan untuk {duty}", "en": "{items} more for {duty}"},
    "cost_fewer": {"id": "{items} lebih sedikit untuk {duty}", "en": "{items} fewer for {duty}"},
    "cost_same": {"id": "personel sama", "en": "the same personnel"},
    "cost_in_use": {"id": " (terpakai: {items})", "en": " (in use: {items})"},
    "cost_total": {"id": "{kind} {b} → {p} dari {n}", "en": "{kind} {b} → {p} of {n}"},
    "verdict_nodata": {
        "id": "Tidak cukup kejadian yang perlu unit untuk membandingkan rencana.",
        "en": "Too few incidents needed a unit to compare the plans.",
    },
    "verdict_run": {
        "id": "Rencana {plan} memenuhi target di kecamatan terbanyak: sedikitnya {goal} kejadian didatangi dalam "
        "target di {k} dari {n} kecamatan yang punya kejadian; secara keseluruhan {w} didatangi dalam target{p1}.",
        "en": "Plan {plan} meets the most targets: at least {goal} of incidents are reached within target in {k} "
        "of {n} kecamatan with incidents; overall {w} are reached within target{p1}.",
    },
    "verdict_run_p1": {"id": " (prioritas 1: {p1})", "en": " (priority 1: {p1})"},
    "verdict_run_others": {"id": "Rencana lain: {items}.", "en": "Other plans: {items}."},
    "run_other_item": {"id": "{plan} {k} dari {n} kecamatan, {w} dalam target", "en": "{plan} {k} of {n}, {w}"},
    "verdict_sweep": {
        "id": "Rencana {plan}: nilai terkecil yang mencapai {goal} kejadian didatangi dalam target adalah "
        "{point}, dengan rata-rata {w}{sure}.",
        "en": "Plan {plan}: the smallest value reaching {goal} of incidents within target is {point}, "
        "with a mean of {w}{sure}.",
    },
    "verdict_sweep_grid": {
        "id": "Rencana {plan}: titik pertama (menurut urutan variasi) yang mencapai {goal} kejadian didatangi dalam "
        "target adalah {point}, dengan rata-rata {w}{sure}.",
        "en": "Plan {plan}: the first point (in the order of the sweep) reaching {goal} of incidents within target is "
        "{point}, with a mean of {w}{sure}.",
    },
    "sweep_sure": {
        "id": "; batas bawah selang kepercayaan 95% juga mencapai {goal}",
        "en": "; the lower end of the 95% confidence interval reaches {goal} too",
    },
    "sweep_unsure": {
        "id": "; batas bawah selang kepercayaan 95% masih di bawah {goal}, jadi belum pasti",
        "en": "; the lower end of the 95% confidence interval is still below {goal}, so it is not certain",
    },
    "verdict_sweep_none": {
        "id": "Rencana {plan}: tidak ada nilai yang diuji yang mencapai {goal} kejadian didatangi dalam target; "
        "tertinggi {w} pada {point}.",
        "en": "Plan {plan}: no value tried reaches {goal} of incidents within target; the highest is {w} at {point}.",
    },
    "sweep_vs_reference": {
        "id": "Dibanding titik acuan ({reference}): {d}{sig}.",
        "en": "Against the reference point ({reference}): {d}{sig}.",
    },
    "verdict_sweep_none_data": {
        "id": "Rencana {plan}: tidak ada kejadian yang perlu unit pada titik mana pun.",
        "en": "Plan {plan}: no incident needed a unit at any point.",
    },
    "sweep_reference_mark": {"id": "{value} (acuan)", "en": "{value} (reference)"},
    "sweep_c_diff_min": {"id": "Selisih (menit)", "en": "Change (min)"},
    "sweep_c_diff_share": {"id": "Selisih (poin)", "en": "Change (points)"},
    "sweep_note": {
        "id": "Selisih: titik itu dikurangi titik acuan ({reference}) untuk rencana yang sama, dalam menit atau "
        "poin persentase, berpasangan atas {n} replikasi pada hari simulasi yang sama (bilangan acak bersama), "
        "dengan selang kepercayaan 95%. Proporsi dibulatkan ke persen bulat; kesimpulan utama dinilai atas angka "
        "yang ditampilkan di sini.",
        "en": "Change: that point minus the reference point ({reference}) for the same plan, in minutes or "
        "percentage points, paired over {n} replications on the same simulated days (common random numbers), with "
        "its 95% confidence interval. Shares are rounded to whole percents; the headline verdict is judged on the "
        "figures shown here.",
    },
    # comparison table
    "c_kpi": {"id": "Indikator", "en": "Indicator"},
    "c_diff": {"id": "Selisih terhadap {baseline}", "en": "Difference from {baseline}"},
    "c_ci": {"id": "Selang kepercayaan 95%", "en": "95% confidence interval"},
    "c_verdict": {"id": "Penilaian", "en": "Verdict"},
    "c_note": {
        "id": "Selisih berpasangan atas {n} replikasi pada hari simulasi yang sama (bilangan acak bersama). "
        "'Nyata' hanya bila selang kepercayaan 95% tidak mencakup nol.",
        "en": "Paired differences over {n} replications on the same simulated days (common random numbers). "
        "'Significant' only when the 95% confidence interval excludes zero.",
    },
    # weak spots
    "w_group": {"id": "Rencana", "en": "Plan"},
    "w_p1_cell": {"id": "{share} dari {n}", "en": "{share} of {n}"},
    "w_target_p1": {"id": "Target prioritas 1 (menit)", "en": "Priority 1 target (min)"},
    "w_n": {"id": "Kejadian perlu unit (n)", "en": "Incidents needing a unit (n)"},
    "w_kec_note": {
        "id": "Kecamatan yang kurang dari {goal} kejadiannya (yang perlu unit, gabungan semua replikasi) didatangi "
        "dalam target untuk kecamatan dan prioritasnya, terlemah dulu, paling banyak {top} per rencana. Dalam "
        "p90 gabungan, kejadian yang tidak didatangi dihitung sampai akhir simulasi (batas bawah). Nilai dengan "
        "n kecil kurang pasti.",
        "en": "Kecamatan where fewer than {goal} of the incidents needing a unit (pooled over all replications) "
        "were reached within the target for their kecamatan and priority, weakest first, at most {top} per plan. "
        "In the pooled p90, incidents never reached count until the end of the simulation (a lower bound). Values with "
        "a small n are less certain.",
    },
    "w_kec_none": {
        "id": "Di setiap kecamatan sedikitnya {goal} kejadian didatangi dalam target.",
        "en": "In every kecamatan at least {goal} of incidents are reached within target.",
    },
    "w_worst": {
        "id": "Terlemah: {kec} pada rencana {plan}, hanya {w} kejadian didatangi dalam target{p1}; p90 gabungan "
        "{p90} menit, {r} didatangi.",
        "en": "Weakest: {kec} under plan {plan}, only {w} of incidents reached within target{p1}; pooled p90 "
        "{p90} min, {r} reached.",
    },
    "w_worst_p1": {
        "id": " (prioritas 1: {share} dari {n} dalam {target} menit)",
        "en": " (priority 1: {share} of {n} within {target} min)",
    },
    "h_low_hour": {"id": "Jam terlemah ({tz})", "en": "Weakest hour ({tz})"},
    "h_low_share": {"id": "Dalam target pada jam itu", "en": "Within target in that hour"},
    "h_all_share": {"id": "Dalam target, semua jam (gabungan)", "en": "Within target, all hours (pooled)"},
    "h_peak_hour": {"id": "Puncak kejadian terbuka ({tz})", "en": "Open incidents peak ({tz})"},
    "h_peak": {"id": "Rata-rata puncak (kejadian)", "en": "Mean peak (incidents)"},
    "w_hours_note": {
        "id": "Jam lapor menurut jam setempat. Jam terlemah: jam dengan proporsi dalam target terendah di antara "
        "jam yang punya sedikitnya {min} kejadian (gabungan replikasi; bila tidak ada, {few}). "
        "Puncak: jam dengan rata-rata (atas replikasi) jumlah kejadian terbuka tertinggi yang dicapai pada jam itu.",
        "en": "Hour of the report on the local clock. Weakest hour: the lowest share within target among hours with "
        "at least {min} incidents (pooled over replications; if none has, {few}). "
        "Peak: the hour whose highest number of open incidents, averaged over replications, is largest.",
    },
    "w_hour_text": {
        "id": "{plan}: jam terlemah {hour}, {share} kejadian didatangi dalam target (n={n}; semua jam {all}); "
        "kejadian terbuka memuncak pukul {peak_hour} (rata-rata puncak {peak}).",
        "en": "{plan}: weakest hour {hour}, {share} of incidents reached within target (n={n}; all hours {all}); "
        "open incidents peak at {peak_hour} (mean peak {peak}).",
    },
    "w_hour_short": {
        "id": "{plan}: jam terlemah {hour} ({share} dalam target); kejadian terbuka memuncak {peak_hour}",
        "en": "{plan}: weakest hour {hour} ({share} within target); open incidents peak {peak_hour}",
    },
    "few_data": {"id": "sedikit data", "en": "little data"},
    # assumptions
    "a_text": {"id": "Asumsi", "en": "Assumption"},
    "a_basis": {"id": "Dasar", "en": "Basis"},
    "a_source": {"id": "Sumber", "en": "Source"},
    "basis_sourced": {"id": "bersumber", "en": "sourced"},
    "basis_estimated": {"id": "perkiraan", "en": "estimated"},
    "a_none": {
        "id": "Skenario ini tidak mencantumkan daftar asumsi; tanda [S] (bersumber) dan [E] (perkiraan) ada di "
        "komentar berkas skenario.",
        "en": "This scenario lists no assumptions; the [S] (sourced) and [E] (estimated) marks are in the comments "
        "of the scenario file.",
    },
    "a_summary": {
        "id": "{s} bersumber, {e} perkiraan. Laju kejadian dan waktu tempuh sebagian besar perkiraan: "
        "perbandingan antarrencana lebih kuat daripada menit absolutnya.",
        "en": "{s} sourced, {e} estimated. Incident rates and travel are mostly estimates: the comparison "
        "between plans is more robust than the absolute minutes.",
    },
    "a_conflict": {"id": "Sumber berbeda: {sides}.", "en": "Sources differ: {sides}."},
    "a_conflicts": {
        "id": "Pada {n} asumsi sumbernya saling berbeda; angka tiap sumber disebut di barisnya.",
        "en": "On {n} assumptions the sources disagree; each source's figure is given in its row.",
    },
    "s_none": {"id": "Skenario ini tidak mencantumkan sumber.", "en": "This scenario lists no sources."},
    # how the run was made
    "r_command": {"id": "Perintah (disusun dari manifest)", "en": "Command (rebuilt from the manifest)"},
    "r_scenario": {"id": "Skenario", "en": "Scenario"},
    "r_sha": {"id": "SHA-256 skenario", "en": "Scenario SHA-256"},
    "r_overrides": {"id": "Perubahan (--set)", "en": "Overrides (--set)"},
    "r_grid": {"id": "Variasi (--vary)", "en": "Sweep (--vary)"},
    "r_seed": {"id": "Seed", "en": "Seed"},
    "r_reps": {"id": "Replikasi", "en": "Replications"},
    "r_plans": {"id": "Rencana", "en": "Plans"},
    "r_baseline": {"id": "Rencana acuan", "en": "Reference plan"},
    "r_precision": {"id": "Target presisi", "en": "Precision target"},
    "r_backend": {"id": "Cara eksekusi", "en": "Backend"},
    "r_workers": {"id": "{kind}, {n} pekerja", "en": "{kind}, {n} workers"},
    "r_versions": {"id": "Versi paket", "en": "Package versions"},
    "r_started": {"id": "Mulai", "en": "Started"},
    "r_finished": {"id": "Selesai", "en": "Finished"},
    "r_folder": {"id": "Folder hasil", "en": "Run folder"},
    "r_epoch": {"id": "Awal jam model", "en": "Model clock starts"},
    "none": {"id": "tidak ada", "en": "none"},
    "precision_reached": {"id": "{t} tercapai ({a})", "en": "{t} reached ({a})"},
    "precision_missed": {"id": "{t} tidak tercapai ({a})", "en": "{t} not reached ({a})"},
    # the optimization page (a confirmation folder of `optimize`)
    "h_optimization": {"id": "Hasil optimasi penempatan personel", "en": "Staffing optimisation"},
    "h_o_changes": {"id": "Yang berubah", "en": "What changes"},
    "h_o_evidence": {"id": "Bukti dari konfirmasi", "en": "The evidence from the confirmation"},
    "h_o_weak": {"id": "Titik lemah yang tersisa", "en": "Remaining weak spots"},
    "kind_optimize": {"id": "Konfirmasi hasil optimasi", "en": "Optimisation confirmation"},
    "q_min_force": {
        "id": "Berapa personel paling sedikit yang masih memenuhi semua target di setiap kelompok target, mulai "
        "dari rencana {start}?",
        "en": "What is the smallest staffing that still meets every target in every target group, starting "
        "from plan {start}?",
    },
    "q_fixed_force": {
        "id": "Dengan personel sebanyak rencana {start}, penempatan mana yang paling memperbaiki {objective}?",
        "en": "With as many personnel as plan {start}, which placement improves {objective} most?",
    },
    "o_min_fewer": {
        "id": "Rencana {rec} memenuhi semua target dengan {n} personel, {m} lebih sedikit dari {start} "
        "({n_start} personel).",
        "en": "Plan {rec} meets every target with {n} personnel, {m} fewer than {start} ({n_start}).",
    },
    "o_min_more": {
        "id": "Rencana {rec} memenuhi semua target dengan {n} personel, {m} lebih banyak dari {start} "
        "({n_start} personel).",
        "en": "Plan {rec} meets every target with {n} personnel, {m} more than {start} ({n_start}).",
    },
    "o_min_same": {
        "id": "Rencana {rec} memenuhi semua target dengan {n} personel, sama banyak dengan {start}.",
        "en": "Plan {rec} meets every target with {n} personnel, as many as {start}.",
    },
    "o_not_met": {
        "id": "Rencana {rec} ({n} personel; {start}: {n_start}) belum memenuhi semua target pada konfirmasi: {groups}.",
        "en": "Plan {rec} ({n} personnel; {start}: {n_start}) does not meet every target in the confirmation: "
        "{groups}.",
    },
    "o_fixed": {
        "id": "Dengan {n} personel ({start}: {n_start}), rencana {rec} mengubah {objective} dari {b} menjadi {p}: {d}.",
        "en": "With {n} personnel ({start}: {n_start}), plan {rec} moves {objective} from {b} to {p}: {d}.",
    },
    "o_fixed_meets": {
        "id": "Pada konfirmasi rencana ini memenuhi semua target.",
        "en": "In the confirmation it meets every target.",
    },
    "o_fixed_not_met": {
        "id": "Pada konfirmasi rencana ini belum memenuhi semua target: {groups}.",
        "en": "In the confirmation it does not meet every target: {groups}.",
    },
    "o_by_kind": {"id": "Per jenis personel: {items}.", "en": "By kind of personnel: {items}."},
    "o_start_missed": {
        "id": "Rencana awal {start} belum memenuhi semua target: {groups}.",
        "en": "The start plan {start} does not meet every target: {groups}.",
    },
    "o_missed_item": {
        "id": "{group}, {kpi} {value} (target {threshold})",
        "en": "{group}, {kpi} {value} (target {threshold})",
    },
    "o_more_missed": {"id": "dan {n} lagi", "en": "and {n} more"},
    "o_group_default": {"id": "Target umum ({kec})", "en": "Default target ({kec})"},
    "o_group_default_only": {"id": "Target umum", "en": "Default target"},
    "o_group_many": {"id": "{n} kecamatan", "en": "{n} kecamatan"},
    "o_changes_lead": {
        "id": "Dari {start} ke {rec} berubah {n} nilai rencana; selisih personel per jenis: {items}.",
        "en": "Changes from {start} to {rec}: {n}; personnel difference by kind: {items}.",
    },
    "o_less": {"id": "Dikurangi: {items}.", "en": "Fewer: {items}."},
    "o_more": {"id": "Ditambah: {items}.", "en": "More: {items}."},
    "o_no_changes": {
        "id": "Rencana {rec} sama dengan {start}: tidak ada yang berubah.",
        "en": "Plan {rec} is the same as {start}: nothing changes.",
    },
    "o_change": {"id": "{place}: {what} {start} → {rec} ({delta})", "en": "{place}: {what} {start} → {rec} ({delta})"},
    "o_delta": {"id": "{d} personel {kind}", "en": "{d} {kind} personnel"},
    "o_delta_none": {"id": "personel tetap", "en": "personnel unchanged"},
    "o_place_ppk": {"id": "Setiap PPK", "en": "Each PPK"},
    "o_place_tps": {"id": "Setiap TPS", "en": "Each TPS"},
    "o_place_other": {"id": "Lainnya", "en": "Other"},
    "o_c_place": {"id": "Tempat", "en": "Where"},
    "o_c_what": {"id": "Yang diubah", "en": "What"},
    "o_c_kind": {"id": "Jenis personel", "en": "Kind of personnel"},
    "o_c_officers": {"id": "Personel ({start} → {rec})", "en": "Personnel ({start} → {rec})"},
    "o_c_delta": {"id": "Selisih personel", "en": "Personnel difference"},
    "o_c_group": {"id": "Kelompok target", "en": "Target group"},
    "o_c_target": {"id": "Target", "en": "Target"},
    "o_c_diff": {"id": "Selisih {rec} − {start}", "en": "Difference {rec} − {start}"},
    "o_c_met": {"id": "Memenuhi ({start} → {rec})", "en": "Met ({start} → {rec})"},
    "o_c_n": {"id": "Kejadian dinilai ({rec})", "en": "Incidents judged ({rec})"},
    "yes": {"id": "ya", "en": "yes"},
    "no": {"id": "tidak", "en": "no"},
    "o_evidence_note": {
        "id": "Semua angka dari konfirmasi: {n} replikasi baru (seed {seed}), gabungan per kelompok target, "
        "dalam kurung selang kepercayaan 95%. Selisih berpasangan pada hari simulasi yang sama (bilangan acak "
        "bersama). 'Memenuhi': perkiraan titiknya mencapai target. Kejadian dinilai: semua replikasi konfirmasi.",
        "en": "Every figure from the confirmation: {n} fresh replications (seed {seed}), per target group, in "
        "brackets the 95% confidence interval. Differences paired on the same simulated days (common random "
        "numbers). 'Met': the point estimate reaches the target. Incidents judged: over all confirmation "
        "replications.",
    },
    "o_method_min_force": {
        "id": "dicari rencana dengan personel paling sedikit yang masih memenuhi setiap target di setiap "
        "kelompok target",
        "en": "looked for the plan with the fewest personnel that still meets every target in every target group",
    },
    "o_method_fixed_force": {
        "id": "personel dipindahkan antartempat tanpa mengubah jumlahnya, untuk memperbaiki {objective} sambil "
        "tetap memenuhi target",
        "en": "moved personnel between places without changing their number, to improve {objective} while "
        "meeting the targets",
    },
    "o_search": {
        "id": "Cara mencari: {method}, mulai dari rencana {start} (seed pencarian {search_seed}); {cand} "
        "rencana calon dinilai dengan {spent} dari anggaran {budget} replikasi. Selisih di bawah {delta} dianggap "
        "setara (zona indiferen).{exhausted} Angka akhir di halaman ini hanya berasal dari konfirmasi pada {n} "
        "replikasi baru (seed {seed}) yang tidak pernah dipakai dalam pencarian.",
        "en": "How it was found: the search {method}, starting from plan {start} (search seed {search_seed}); "
        "{cand} candidate plans were judged with {spent} of a budget of {budget} replications. Differences under "
        "{delta} count as equal (the indifference zone).{exhausted} The final figures on this page come only "
        "from the confirmation on {n} fresh replications (seed {seed}), never used in the search.",
    },
    "o_exhausted": {
        "id": " Anggaran habis sebelum pencarian selesai: ini rencana terbaik yang ditemukan, belum tentu yang "
        "terbaik.",
        "en": " The budget ran out before the search finished: this is the best plan found, not necessarily the "
        "best there is.",
    },
    "o_weak_missed": {
        "id": "{group}: {kpi} {value}, belum mencapai target {threshold}{few}.",
        "en": "{group}: {kpi} {value}, short of the target {threshold}{few}.",
    },
    "o_weak_unsure": {
        "id": "{group}: {kpi} {value} memenuhi target {threshold}, tetapi selang kepercayaan 95% ({interval}) "
        "melewati batas itu, jadi belum pasti{few}.",
        "en": "{group}: {kpi} {value} meets the target {threshold}, but its 95% confidence interval "
        "({interval}) crosses it, so it is not certain{few}.",
    },
    "o_weak_nodata": {
        "id": "{group}: tidak ada kejadian untuk {kpi} pada konfirmasi, jadi target {threshold} belum teruji.",
        "en": "{group}: no incident for {kpi} in the confirmation, so the target {threshold} is untested.",
    },
    "o_weak_few": {"id": "; hanya {n} kejadian", "en": "; only {n} incidents"},
    "o_weak_none": {
        "id": "Tidak ada: setiap kelompok target memenuhi setiap target, dengan seluruh selang kepercayaan 95% di "
        "sisi target.",
        "en": "None: every target group meets every target, with the whole 95% confidence interval on the "
        "target's side.",
    },
    # labels the documents use
    "notice": {"id": "Yang perlu diperhatikan", "en": "What to notice"},
    "page": {"id": "Halaman {n}", "en": "Page {n}"},
    "no_charts": {"id": "Tidak ada grafik.", "en": "No charts."},
    "more_rows": {"id": "… {n} baris lagi di briefing.html", "en": "… {n} more rows in briefing.html"},
    "more_items": {"id": "… {n} lagi di briefing.html", "en": "… {n} more in briefing.html"},
    "generated": {"id": "Dibuat dari folder hasil {folder}", "en": "Made from run folder {folder}"},
}


# --- the content tree --------------------------------------------------------------------------


@dataclass
class Table:
    """A table of formatted cells; ``align`` is 'l' or 'r' per column."""

    columns: list[str]
    rows: list[list[str]]
    align: list[str]
    note: str = ""


@dataclass
class PlanInfo:
    name: str
    description: str


@dataclass
class AssumptionRow:
    text: str
    basis: str  # 'bersumber' / 'perkiraan' (or the English words)
    sourced: bool
    source: str  # the source as written in the scenario, then its `also` names, comma-separated
    url: str  # the URL when the (first) source names an entry of spec.sources, else ''


@dataclass
class Source:
    name: str
    url: str


@dataclass
class OptimizationPage:
    """The page a confirmation folder of ``optimize`` adds: the verdict, what changes, the evidence
    per target group, how the search ran and the weak spots left, worded in one language."""

    heading: str
    headings: dict[str, str]  # changes, evidence, weak
    verdict: list[str]  # the verdict first, then personnel by kind
    changes_lead: str
    changes: list[str]  # one line per changed plan value: place, what, start -> recommended, personnel
    changes_table: Table
    evidence: Table  # one row per target group and constraint
    search: str
    weak: list[str]
    meets_targets: bool


@dataclass
class Briefing:
    lang: str
    title: str
    subtitle: str
    context: str
    description: str
    headings: dict[str, str]
    labels: dict[str, str]
    question: str
    plans: list[PlanInfo]
    plans_table: Table  # rows: personnel, units, KPIs; columns: one per plan
    points_table: Table | None  # sweeps: one row per point and plan
    verdict: list[str]  # one or two sentences per block
    verdict_table: Table | None  # compare: paired differences
    weak_lead: str
    weak_kecamatan: Table
    weak_hours: Table
    weak_hours_text: list[str]
    weak_hours_short: list[str]  # one short line per plan, for slides
    assumptions: list[AssumptionRow]
    assumptions_note: str
    sources: list[Source]
    run_info: list[tuple[str, str]]
    kind: str = "run"  # run, compare or sweep
    footer: str = ""
    optimization: OptimizationPage | None = None  # a confirmation folder of `optimize` only


# --- formatting helpers ------------------------------------------------------------------------


def _finite(x: Any) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _num(x: Any, lang: str, decimals: int = 1) -> str:
    # round the float first, as the command line does (37.55 -> 37.5, not Babel's decimal 37.6)
    return number(round(float(x), decimals), lang, decimals) if _finite(x) else "–"


def _signed(x: float, lang: str, decimals: int = 1) -> str:
    if not _finite(x):
        return "–"
    text = number(round(abs(x), decimals), lang, decimals)
    return ("+" if x > 0 else "-" if x < 0 else "±") + text


def _pct(x: Any, lang: str) -> str:
    return percent(float(x), lang) if _finite(x) else "–"


def _ci(mean: Any, lo: Any, hi: Any, lang: str, decimals: int = 1, share: bool = False) -> str:
    """'106,8 (90,7–122,8)' or '71% (67–75%)'; the interval is left out when it is not defined."""
    if not _finite(mean):
        return "–"
    text = _pct(mean, lang) if share else _num(mean, lang, decimals)
    if _finite(lo) and _finite(hi):
        text += f" ({_interval(lo, hi, lang, decimals, share)})"
    return text


def _interval(lo: Any, hi: Any, lang: str, decimals: int = 1, share: bool = False) -> str:
    """'90,7–122,8' or '67–75%'; '–' when the interval is not defined."""
    if not (_finite(lo) and _finite(hi)):
        return "–"
    if share:
        return f"{_num(100 * float(lo), lang, 0)}–{_pct(hi, lang)}"
    return f"{_num(lo, lang, decimals)}–{_num(hi, lang, decimals)}"


def _join(items: list[str], t: Text, word: str = "and") -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {t(word)} " + items[-1]


def _tz_name(tz: str) -> str:
    return TIMEZONE_NAMES.get(tz, tz)


def _hour_range(h: int, lang: str) -> str:
    sep = "." if lang == "id" else ":"
    return f"{h:02d}{sep}00–{(h + 1) % 24:02d}{sep}00"


def _timestamp(text: str | None, lang: str, tz: str) -> str:
    """A time the manifest records (ISO 8601, with its UTC offset) on the scenario's clock, named
    as planners name it: '1 Desember 2026 04.28 WITA'."""
    if not text:
        return "–"
    try:
        d = dt.datetime.fromisoformat(text)
    except ValueError:
        return text
    if d.tzinfo is not None:
        d = d.astimezone(ZoneInfo(tz))
    sep = "." if lang == "id" else ":"
    return f"{date(d.date(), lang)} {d.hour:02d}{sep}{d.minute:02d} {_tz_name(tz)}"


def key_words(run: RunData, key: str, lang: str) -> str:
    """A scenario key path as a reader says it (:func:`sim.report.i18n.code_label`, "sweep_key"),
    without the plan's name when the run has that plan only: 'unit patroli Polsek Sangatta Utara'."""
    words = code_label("sweep_key", key, lang, run.spec)
    only = f"{run.plans[0]}: " if len(run.plans) == 1 else None
    return words.removeprefix(only) if only and words.startswith(only) else words


def _override_words(run: RunData, override: str, lang: str) -> str:
    """A ``--set`` override (``key.path=value``) with its key in words."""
    key, eq, value = override.partition("=")
    return f"{key_words(run, key, lang)} = {value_label(key, value, lang)}" if eq else override


# --- reading the tables ------------------------------------------------------------------------


@dataclass
class _Group:
    """One plan (at one sweep point): what the tables are grouped by."""

    plan: str
    point: int | None
    label: str


def _groups(run: RunData, lang: str) -> list[_Group]:
    """Every plan (and sweep point), labelled for the tables: 'mobile (unit patroli Polsek Sangatta Utara = 2)'."""
    if not run.is_sweep:
        return [_Group(p, None, p) for p in run.plans]
    out = []
    for g in run.manifest["grid"]:
        values = ", ".join(f"{key_words(run, k, lang)} = {value_label(k, v, lang)}" for k, v in g["values"].items())
        for p in run.plans:
            out.append(_Group(p, int(g["point"]), f"{p} ({values})"))
    return out


def _select(df: pd.DataFrame, g: _Group) -> pd.DataFrame:
    mask = df["plan"] == g.plan
    if g.point is not None and "point" in df.columns:
        mask &= df["point"] == g.point
    return df[mask]


def _summary(run: RunData, g: _Group, kpi: str) -> dict[str, float]:
    s = _select(run.summary, g)
    s = s[s["kpi"] == kpi]
    if s.empty:
        return {"mean": math.nan, "ci_low": math.nan, "ci_high": math.nan}
    r = s.iloc[0]
    return {"mean": float(r["mean"]), "ci_low": float(r["ci_low"]), "ci_high": float(r["ci_high"])}


POOLED_P90 = f"response_pooled_p{metrics.HEADLINE_QUANTILE}_min"  # the headline p90 ("p90 gabungan")
_POOLED_Q = {f"response_pooled_p{q}_min": q for q in metrics.POOLED_QUANTILES}


def _stat(run: RunData, g: _Group, key: str) -> dict[str, float]:
    """Mean (or pooled percentile) and 95% interval of a KPI: summary.csv, or percentiles.csv for a
    pooled percentile."""
    if key not in _POOLED_Q:
        return _summary(run, g, key)
    q = _select(run.percentiles, g)
    q = q[q["quantile"] == _POOLED_Q[key]]
    if q.empty:
        return {"mean": math.nan, "ci_low": math.nan, "ci_high": math.nan}
    r = q.iloc[0]
    return {"mean": float(r["response_min"]), "ci_low": float(r["ci_low"]), "ci_high": float(r["ci_high"])}


def _clock_offset_min(run: RunData) -> float:
    return run.epoch.hour * 60 + run.epoch.minute + run.epoch.second / 60


def hour_shares(run: RunData, g: _Group) -> pd.DataFrame:
    """Per local clock hour of the report: dispatched incidents (pooled) and the share within target."""
    inc = _select(dispatched(run.incidents), g)
    hour = ((inc["t_report"].to_numpy(dtype=float) + _clock_offset_min(run)) // 60 % 24).astype(int)
    df = pd.DataFrame({"hour": hour, "within": inc["within_target"].to_numpy(dtype=bool)})
    return df.groupby("hour")["within"].agg(["size", "mean"]).rename(columns={"size": "n", "mean": "share"})


def hour_open_peaks(run: RunData, g: _Group) -> pd.Series:
    """Per local clock hour: the highest number of open incidents during that hour (any day), mean over reps."""
    ts = _select(run.timeseries, g)
    off = _clock_offset_min(run)
    horizon = float(run.timeline.horizon)
    n_hours = math.ceil((horizon + off) / 60) + 1
    starts = np.arange(n_hours) * 60.0 - off  # model minutes of each clock-hour boundary
    per_rep = []
    for _, sub in ts.groupby("replication", sort=True):
        t = sub["t"].to_numpy(dtype=float)
        v = sub["open_incidents"].to_numpy(dtype=float)
        # the value carried into each hour from before it starts, then every change within it
        k = np.searchsorted(t, starts, side="right") - 1
        peak = np.where(k >= 0, v[np.maximum(k, 0)], 0.0)
        idx = np.floor((t + off) / 60).astype(int)
        np.maximum.at(peak, np.clip(idx, 0, n_hours - 1), v)
        clock = pd.Series(peak).groupby(np.arange(n_hours) % 24).max()  # hour k starts at k:00 of the epoch day
        per_rep.append(clock)
    if not per_rep:
        return pd.Series(dtype=float)
    return pd.concat(per_rep, axis=1).fillna(0).mean(axis=1)


# --- the sections ------------------------------------------------------------------------------


def _question(run: RunData, t: Text, lang: str) -> str:
    if run.optimization is not None:
        rec = run.optimization.record
        if rec.mode == "fixed_force":
            return t("q_fixed_force", start=rec.start_plan, objective=objective_label(str(rec.objective), lang))
        return t("q_min_force", start=rec.start_plan)
    if run.is_sweep:
        grid = run.manifest["grid"]
        keys = list(grid[0]["values"])
        words = {k: key_words(run, k, lang) for k in keys}
        vals = {k: ", ".join(dict.fromkeys(value_label(k, g["values"][k], lang) for g in grid)) for k in keys}
        values = vals[keys[0]] if len(keys) == 1 else "; ".join(f"{words[k]} = {v}" for k, v in vals.items())
        return t("q_sweep", keys=_join(list(words.values()), t), values=values)
    if run.baseline is not None:
        others = [p for p in run.plans if p != run.baseline] or [run.baseline]
        return t("q_compare", plans=_join(others, t, "or"), baseline=run.baseline)
    return t("q_run", plans=_join(run.plans, t))


def _plans_table(run: RunData, t: Text, lang: str) -> Table:
    use = run.personnel()
    avail = use.loc["available"]
    rows: list[list[str]] = []
    for kind in use.columns:
        rows.append(
            [t("personnel_row", kind=force_label(str(kind), lang), ua=t("used_available"))]
            + [f"{_num(use.loc[p, kind], lang, 0)} / {_num(avail[kind], lang, 0)}" for p in run.plans]
        )
    if not run.is_sweep:
        groups = _groups(run, lang)
        rows.append([kpi_label("units", lang)] + [_num(_summary(run, g, "units")["mean"], lang, 0) for g in groups])
        for kpi in ("incidents", "dispatched"):
            rows.append([kpi_label(kpi, lang)] + [_num(_summary(run, g, kpi)["mean"], lang, 1) for g in groups])
        rows.extend(_kpi_rows(run, lang, groups))
    return Table(
        [t("plan"), *run.plans],
        rows,
        ["l"] + ["r"] * len(run.plans),
        t("plans_note_sweep") if run.is_sweep else t("plans_note", reps=number(run.replications, lang)),
    )


# The KPI rows of the plans table (and columns of the sweep table), keys of sim.metrics: the
# reached share sits beside the response figures because those count unreached incidents at
# the horizon (lower bounds).
KPI_ROWS = (
    "response_mean_min",
    POOLED_P90,
    "reached_share",
    "within_target",
    "within_target_p1",
    "waited_share",
    "escalations",
    "peak_unguarded_tps",  # what a plan pays for its patrols: TPS left without a guard at the peak
)
COUNT_ONE_DECIMAL = 10  # a count figure below this has two decimals, ...
COUNT_WHOLE = 100  # ... below this one, from this none


def _kpi_cell(run: RunData, g: _Group, key: str, lang: str) -> str:
    """'106,8 (90,7–122,8)' or '71% (67–75%)': one KPI of one plan, formatted as sim.metrics says."""
    r = _stat(run, g, key)
    return _ci(r["mean"], r["ci_low"], r["ci_high"], lang, _decimals(key, r["mean"]), metrics.kpi(key).is_share)


def _decimals(key: str, x: Any) -> int:
    """Decimals of a KPI's figure: minutes and hours to one decimal, a count to about three
    significant figures (1,05 escalations, 37,5 incidents, 362 unguarded TPS)."""
    return _count_decimals(x) if objective(key).unit == "count" else 1


def _count_decimals(x: Any) -> int:
    size = abs(float(x)) if _finite(x) else 0.0
    return 2 if size < COUNT_ONE_DECIMAL else 1 if size < COUNT_WHOLE else 0


def _kpi_cells(run: RunData, g: _Group, lang: str) -> list[str]:
    return [_kpi_cell(run, g, key, lang) for key in KPI_ROWS]


def _kpi_rows(run: RunData, lang: str, groups: list[_Group]) -> list[list[str]]:
    cells = [_kpi_cells(run, g, lang) for g in groups]
    return [[kpi_label(key, lang)] + [c[i] for c in cells] for i, key in enumerate(KPI_ROWS)]


def _sweep_personnel(run: RunData) -> dict[tuple[int, str], dict[str, int]]:
    """Personnel per point and plan: the base scenario with the point's values applied."""
    from sim.scenario import Scenario, apply_overrides, personnel_use

    tps = run.sites[run.sites["kind"] == "tps"].rename(columns={"site_id": "tps_id"})
    n_sites = int((run.sites["kind"] == "ppk").sum()) + 1
    out: dict[tuple[int, str], dict[str, int]] = {}
    for g in run.manifest["grid"]:
        raw = copy.deepcopy(run.manifest["scenario"]["resolved"])
        try:
            spec = Scenario.model_validate(
                apply_overrides(raw, [f"{k}={v}" for k, v in g["values"].items()], "manifest")
            )
        except Exception:  # a point that no longer validates: leave its personnel out
            continue
        for p in run.plans:
            if p in spec.plans:
                out[(int(g["point"]), p)] = personnel_use(spec.plans[p], tps, n_sites)
    return out


# The columns of the sweep table after the plan, its personnel and units: what decides a value
# (response, share within target, each with its paired change from the reference point) and what
# it costs (TPS left unguarded); every KPI of every point is in the workbook and sweep_comparison.csv.
SWEEP_TABLE_KPIS = ("response_mean_min", POOLED_P90, "reached_share", "within_target", "peak_unguarded_tps")
SWEEP_CHANGE_KPIS = ("response_mean_min", "within_target")  # each followed by its paired change


def _sweep_point(run: RunData, point: int, lang: str) -> str:
    """A grid point in words: each varied key and its value ('satu_patroli: unit patroli ... = 2')."""
    keys = list(run.manifest["grid"][0]["values"])
    values = zip(keys, run.point_values[point], strict=True)
    return ", ".join(f"{key_words(run, k, lang)} = {value_label(k, v, lang)}" for k, v in values)


def _sweep_level(run: RunData, g: _Group, key: str, lang: str) -> str:
    """A KPI of one plan at one point with its 95% interval; a share as shown
    (:func:`sim.report.data.share_as_shown`), the figure the sweep verdict judges."""
    if not metrics.kpi(key).is_share:
        return _kpi_cell(run, g, key, lang)
    r = {c: share_as_shown(v) for c, v in _stat(run, g, key).items()}
    return _ci(r["mean"], r["ci_low"], r["ci_high"], lang, share=True)


def _sweep_change(run: RunData, point: int, plan: str, kpi: str) -> _Diff | None:
    """One row of sweep_comparison.csv: the plan at ``point`` minus at the reference point."""
    c = run.sweep_comparison
    assert c is not None
    r = c[(c["point"] == point) & (c["plan"] == plan) & (c["kpi"] == kpi)]
    if r.empty:
        return None
    row = r.iloc[0]
    return _Diff(
        float(row["difference"]),
        float(row["ci_low"]),
        float(row["ci_high"]),
        str(row["significant"]).strip().lower() == "true",
        float(row["point_mean"]),
        float(row["reference_mean"]),
    )


def _sweep_change_cell(run: RunData, g: _Group, kpi: str, t: Text, lang: str) -> str:
    """'+16,1 (+7,9 s.d. +24,4)': percentage points or minutes, as the column says; 'tidak ada
    selisih' when every replication is the same; '–' at the reference point itself and where
    there is no difference to show."""
    assert g.point is not None
    r = _sweep_change(run, g.point, g.plan, kpi)
    if g.point == run.reference_point or r is None or not _finite(r.d):
        return "–"
    if r.zero:
        return t("v_none")
    scale = 100.0 if _kind(kpi) == "share" else 1.0
    text = _signed(scale * r.d, lang)
    if _finite(r.lo) and _finite(r.hi):
        text += f" ({t('range', lo=_signed(scale * r.lo, lang), hi=_signed(scale * r.hi, lang))})"
    return text


def _points_table(run: RunData, t: Text, lang: str) -> Table:
    """One row per point and plan: the varied values (the reference point marked), personnel that
    varies, units, :data:`SWEEP_TABLE_KPIS` with their 95% intervals and, after each of
    :data:`SWEEP_CHANGE_KPIS`, its paired change from the reference point."""
    keys = list(run.manifest["grid"][0]["values"])
    personnel = _sweep_personnel(run)
    kinds = sorted({k for use in personnel.values() for k in use})
    varying = [k for k in kinds if len({use.get(k, 0) for use in personnel.values()}) > 1]
    columns = [key_words(run, k, lang) for k in keys] + [t("plan")]
    columns += [t("personnel_kind", kind=force_label(k, lang)) for k in varying]
    columns.append(kpi_label("units", lang))
    for k in SWEEP_TABLE_KPIS:
        columns.append(kpi_label(k, lang))
        if k in SWEEP_CHANGE_KPIS:
            columns.append(t(f"sweep_c_diff_{_kind(k)}"))
    rows = []
    for g in _groups(run, lang):
        assert g.point is not None
        use = personnel.get((g.point, g.plan), {})
        keys = list(run.manifest["grid"][0]["values"])
        values = [value_label(k, v, lang) for k, v in zip(keys, run.point_values[g.point], strict=True)]
        if g.point == run.reference_point:
            values = [t("sweep_reference_mark", value=v) for v in values]
        cells = []
        for k in SWEEP_TABLE_KPIS:
            cells.append(_sweep_level(run, g, k, lang))
            if k in SWEEP_CHANGE_KPIS:
                cells.append(_sweep_change_cell(run, g, k, t, lang))
        rows.append(
            values
            + [g.plan]
            + [_num(use.get(k, 0), lang, 0) for k in varying]
            + [_num(_summary(run, g, "units")["mean"], lang, 0)]
            + cells
        )
    align = ["r"] * len(keys) + ["l"] + ["r"] * (len(columns) - len(keys) - 1)
    assert run.reference_point is not None
    reference = _sweep_point(run, run.reference_point, lang)
    reps = number(run.replications, lang)
    return Table(columns, rows, align, f"{t('plans_note', reps=reps)} {t('sweep_note', reference=reference, n=reps)}")


# The rows of the compare table, keys of comparison.csv (sim.metrics names, units and direction);
# the p90 row is the paired difference of pooled p90s, the figure of the plans table above it.
COMPARE_KPIS = (*KPI_ROWS, "open_at_end")


def _kind(key: str) -> str:
    """How a difference is worded: 'min' (minutes), 'share' (percentage points) or 'count' (a KPI
    of sim.metrics or an optimizer objective, :func:`sim.report.i18n.objective`)."""
    k = objective(key)
    return "share" if k.is_share else "min" if k.unit == "min" else "count"


def _diff_words(r: _Diff, kind: str, t: Text, lang: str) -> tuple[str, str]:
    """The difference in words and its 95% interval, e.g. ('60,8 menit lebih cepat', '46,0 s.d. 75,6')."""
    if not _finite(r.d):
        return "–", ""
    if r.zero:
        return t("v_none"), ""
    has_ci = _finite(r.lo) and _finite(r.hi)
    if kind == "min":
        words = t("shorter" if r.d < 0 else "longer", x=_num(abs(r.d), lang, 1))
        if has_ci and (r.lo > 0 or r.hi < 0):  # the interval as magnitudes, in the sense of the words
            a, b = sorted((abs(r.lo), abs(r.hi)))
            return words, t("range", lo=_num(a, lang, 1), hi=_num(b, lang, 1))
        return words, t("range", lo=_signed(r.lo, lang), hi=_signed(r.hi, lang)) if has_ci else ""
    if kind == "share":
        words = t("points", x=_signed(100 * r.d, lang))
        return words, t("range", lo=_signed(100 * r.lo, lang), hi=_signed(100 * r.hi, lang)) if has_ci else ""
    n = _count_decimals(r.d)
    words = _signed(r.d, lang, n)
    return words, t("range", lo=_signed(r.lo, lang, n), hi=_signed(r.hi, lang, n)) if has_ci else ""


@dataclass
class _Diff:
    """One row of comparison.csv: plan minus baseline, paired over replications."""

    d: float
    lo: float
    hi: float
    significant: bool
    plan_mean: float
    baseline_mean: float

    @property
    def zero(self) -> bool:
        return self.d == 0 and self.lo == 0 and self.hi == 0


def _with_ci(words: str, interval: str, t: Text) -> str:
    """'+20,0 poin persentase; SK 95% +17,6 s.d. +22,5' (or just the words when there is no interval)."""
    return f"{words}; {t('ci_range', lo=interval)}" if interval else words


def _cmp(cmp: pd.DataFrame, plan: str, kpi: str) -> _Diff | None:
    r = cmp[(cmp["plan"] == plan) & (cmp["kpi"] == kpi)]
    if r.empty:
        return None
    row = r.iloc[0]
    return _Diff(
        float(row["difference"]),
        float(row["ci_low"]),
        float(row["ci_high"]),
        str(row["significant"]).strip().lower() == "true",
        float(row["plan_mean"]),
        float(row["baseline_mean"]),
    )


def _judge(r: _Diff, key: str, t: Text) -> str:
    """Better, worse, not significant or no difference, in the direction sim.metrics gives the KPI
    (or the optimizer gives its objective)."""
    if r.zero:
        return t("v_none")
    if not r.significant:
        return t("v_ns")
    better = objective(key).better
    if better == "none":
        return t("sig")
    return t("v_better") if (r.d < 0) == (better == "lower") else t("v_worse")


def _sig(r: _Diff, t: Text) -> str:
    return t("sig") if r.significant else t("not_sig")


def _verdict_compare(run: RunData, t: Text, lang: str) -> tuple[list[str], Table | None]:
    cmp = run.comparison
    base = run.baseline
    assert cmp is not None and base is not None
    plans = [p for p in run.plans if p != base and not cmp[cmp["plan"] == p].empty]
    if not plans:
        return [t("verdict_nodata")], None
    rows = []
    for p in plans:
        for kpi in COMPARE_KPIS:
            r = _cmp(cmp, p, kpi)
            if r is None:
                continue
            words, ci = _diff_words(r, _kind(kpi), t, lang)
            rows.append([p, kpi_label(kpi, lang), words, ci, _judge(r, kpi, t)])
    n = int(cmp["n"].iloc[0]) if len(cmp) else run.replications
    table = Table(
        [t("plan"), t("c_kpi"), t("c_diff", baseline=base), t("c_ci"), t("c_verdict")],
        rows,
        ["l", "l", "r", "r", "l"],
        t("c_note", n=number(n, lang)),
    )
    scored: list[tuple[str, _Diff]] = []
    for p in plans:
        r = _cmp(cmp, p, "within_target")
        if r is not None and _finite(r.d):
            scored.append((p, r))
    if not scored:
        return [t("verdict_nodata")], table
    best, br = max(scored, key=lambda pr: pr[1].d)
    if br.significant and br.d > 0:
        first = t("verdict_yes", plan=best, baseline=base)
    elif all(r.significant and r.d < 0 for _, r in scored):
        first = t("verdict_no", baseline=base)
    else:
        first = t("verdict_unproven", baseline=base)
    order = [best, *(p for p, _ in scored if p != best)]
    return [first, *(_trade_off(run, p, base, t, lang) for p in order)], table


# --- the trade-off of a plan: what it gains, what it costs -------------------------------------

TRADE_OFF_KPIS = ("response_mean_min", "within_target", "peak_unguarded_tps")  # the figures of the sentence


def _trade_off(run: RunData, plan: str, base: str, t: Text, lang: str) -> str:
    """One sentence: the plan against the reference plan in minutes, in the share within target,
    in personnel moved between duties, and in TPS left unguarded at the peak. The figures are the
    tables': the plans table's means, and where the folder has comparison.csv (a paired
    comparison) the compare table's differences, intervals and significance."""
    figures = {}
    for key in TRADE_OFF_KPIS:
        b, p = (_summary(run, _Group(x, None, x), key)["mean"] for x in (base, plan))
        share = metrics.kpi(key).is_share
        b_text, p_text = (_pct(x, lang) if share else _num(x, lang, _decimals(key, x)) for x in (b, p))
        text = t("from_to_min" if metrics.kpi(key).unit == "min" else "from_to", b=b_text, p=p_text)
        r = _cmp(run.comparison, plan, key) if run.comparison is not None else None
        if r is not None and _finite(r.d) and not r.zero:
            words, ci = _diff_words(r, _kind(key), t, lang)
            sig = t("sig_short" if r.significant else "not_sig_short")
            text += t("paired", words=words, ci=t("ci_range", lo=ci), sig=sig) if ci else f" ({words})"
        figures[key] = text
    return t(
        "trade_off",
        plan=plan,
        baseline=base,
        response=figures["response_mean_min"],
        within=figures["within_target"],
        cost=_cost(run, base, plan, t, lang),
        unguarded=figures["peak_unguarded_tps"],
    )


def _duty_personnel(run: RunData, plan_name: str) -> Counter[tuple[str, str]]:
    """Personnel of one plan per (duty, kind), as :func:`sim.scenario.plans.personnel_by_duty`
    counts them (the count behind :meth:`RunData.personnel`), from the run's sites."""
    tps = run.sites[run.sites["kind"] == "tps"]
    n_sites = int((run.sites["kind"] == "ppk").sum()) + 1
    return Counter(personnel_by_duty(run.spec.plans[plan_name], tps, n_sites))


def _cost(run: RunData, base: str, plan: str, t: Text, lang: str) -> str:
    """What the plan's personnel costs against the reference plan: officers of one kind taken off
    TPS guarding and put on patrols (or back), then what is added or cut on each duty, then the
    totals in use of the kinds that change (the plans table's personnel rows)."""
    a, b = _duty_personnel(run, base), _duty_personnel(run, plan)
    kinds = list(dict.fromkeys([*run.spec.forces, *sorted({k for _, k in a.keys() | b.keys()})]))
    moved: list[str] = []
    more: dict[str, list[str]] = {}
    fewer: dict[str, list[str]] = {}
    for kind in kinds:
        left = {duty: b[duty, kind] - a[duty, kind] for duty in DUTIES}
        for duty in UNIT_SECTIONS:
            n = _moved(left["tps_guards"], left[duty])
            if n:
                src, dst = ("tps_guards", duty) if n > 0 else (duty, "tps_guards")
                words = {"src": _duty(src, lang), "dst": _duty(dst, lang), "kind": force_label(kind, lang)}
                moved.append(t("cost_moved", n=number(abs(n), lang), **words))
                left["tps_guards"] += n
                left[duty] -= n
        for duty, n in left.items():
            if n:
                officers = f"{number(abs(n), lang)} {force_label(kind, lang)}"
                (more if n > 0 else fewer).setdefault(duty, []).append(officers)
    items = moved + [t("cost_more", items=_join(x, t), duty=_duty(d, lang)) for d, x in more.items()]
    items += [t("cost_fewer", items=_join(x, t), duty=_duty(d, lang)) for d, x in fewer.items()]
    if not items:
        return t("cost_same")
    before, after = _plan_personnel(run, base), _plan_personnel(run, plan)
    totals = [
        t(
            "cost_total",
            kind=force_label(k, lang),
            b=number(before[k], lang),
            p=number(after[k], lang),
            n=number(run.spec.forces.get(k, 0), lang),
        )
        for k in before
        if before[k] != after[k]
    ]
    return ", ".join(items) + (t("cost_in_use", items=", ".join(totals)) if totals else "")


def _moved(guards: int, duty: int) -> int:
    """Officers of one kind moved between TPS guarding and a duty, from the changes of each: as
    many as one loses and the other gains; positive from the TPS to the duty, negative back."""
    if guards < 0 < duty:
        return min(-guards, duty)
    if duty < 0 < guards:
        return -min(guards, -duty)
    return 0


def _duty(duty: str, lang: str) -> str:
    return code_label("duty", duty, lang)


def _kec_stats(run: RunData) -> pd.DataFrame:
    """The kecamatan table (:func:`sim.report.data.kecamatan_table`) where some incident needed a unit."""
    kt = kecamatan_table(run)
    return kt[kt["dispatched"] > 0]


def _verdict_run(run: RunData, t: Text, lang: str, kt: pd.DataFrame) -> list[str]:
    """The plan that meets its targets (TARGET_SHARE within target) in the most kecamatan."""
    scores = []
    for g in _groups(run, lang):
        k = _select(kt, g)
        met = int((k["within_target"] >= TARGET_SHARE).sum())
        scores.append((g, met, len(k), _summary(run, g, "within_target"), _summary(run, g, "within_target_p1")))
    scores = [s for s in scores if s[2] > 0]
    if not scores:
        return [t("verdict_nodata")]
    best = max(scores, key=lambda s: (s[1], s[3]["mean"] if _finite(s[3]["mean"]) else -1.0))
    g, met, n, w, w1 = best
    p1 = t("verdict_run_p1", p1=_pct(w1["mean"], lang)) if _finite(w1["mean"]) else ""
    sentences = [
        t(
            "verdict_run",
            plan=g.plan,
            goal=_pct(TARGET_SHARE, lang),
            k=number(met, lang),
            n=number(n, lang),
            w=_ci(w["mean"], w["ci_low"], w["ci_high"], lang, share=True),
            p1=p1,
        )
    ]
    others = [
        t("run_other_item", plan=s[0].plan, k=number(s[1], lang), n=number(s[2], lang), w=_pct(s[3]["mean"], lang))
        for s in scores
        if s[0] is not g
    ]
    if others:
        sentences.append(t("verdict_run_others", items="; ".join(others)))
    base = run.plans[0]  # a run has no baseline: the first plan is the one the others are set against
    trade_offs = [_trade_off(run, s[0].plan, base, t, lang) for s in scores if s[0].plan != base]
    return sentences + trade_offs + ([t("unpaired")] if trade_offs else [])


def _verdict_sweep(run: RunData, t: Text, lang: str) -> list[str]:
    """Per plan, the smallest value reaching TARGET_SHARE within target (:func:`sweep_verdicts`,
    on the shares as the sweep table shows them), with its paired change from the reference."""
    goal = _pct(TARGET_SHARE, lang)
    sentences = []
    for v in sweep_verdicts(run.summary, run.point_values, run.plans):
        point = v.point if v.point is not None else v.best
        if point is None:
            sentences.append(t("verdict_sweep_none_data", plan=v.plan))
            continue
        w = _ci(v.share, v.ci_low, v.ci_high, lang, share=True)
        if v.point is None:
            text = t("verdict_sweep_none", plan=v.plan, goal=goal, w=w, point=_sweep_point(run, point, lang))
        else:
            text = _sweep_reaching(run, v, w, t, lang)
        sentences.append(f"{text} {_sweep_vs_reference(run, point, v.plan, t, lang)}".rstrip())
    return sentences


def _sweep_reaching(run: RunData, v: SweepVerdict, w: str, t: Text, lang: str) -> str:
    """'Rencana X: nilai terkecil yang mencapai 90% ... adalah <key> = 2, dengan rata-rata 98% (94–100%); ...'."""
    assert v.point is not None
    goal = _pct(TARGET_SHARE, lang)
    sure = t("sweep_sure" if v.sure else "sweep_unsure", goal=goal) if _finite(v.ci_low) else ""
    words = "verdict_sweep" if v.by_value else "verdict_sweep_grid"
    return t(words, plan=v.plan, goal=goal, point=_sweep_point(run, v.point, lang), w=w, sure=sure)


def _sweep_vs_reference(run: RunData, point: int, plan: str, t: Text, lang: str) -> str:
    """The paired change in the share within target from the reference point ('' at it)."""
    change = _sweep_change(run, point, plan, "within_target")
    if run.reference_point is None or point == run.reference_point or change is None or not _finite(change.d):
        return ""
    d = _with_ci(*_diff_words(change, "share", t, lang), t)
    sig = "" if change.zero else f", {_sig(change, t)}"
    reference = _sweep_point(run, run.reference_point, lang)
    return t("sweep_vs_reference", reference=reference, d=d, sig=sig)


def _weak_kecamatan(run: RunData, t: Text, lang: str, kt: pd.DataFrame) -> tuple[Table, str]:
    """Kecamatan below their targets: fewer than TARGET_SHARE of their incidents reached within the
    target for their priority, weakest first (:func:`sim.report.data.weakest_first`).

    With targets per priority a single p90 has no single target to be held against, so the share
    within target (each incident judged by its own priority) is what ranks them; beside it the
    priority-1 share and target (the calls that must not be late), the pooled p90 and the reached
    share (how many responses are lower bounds), all from the kecamatan table that the workbook
    and the kecamatan chart show too.
    """
    goal = _pct(TARGET_SHARE, lang)
    rows = []
    below = []
    for g in _groups(run, lang):
        k = _select(kt, g)
        k = weakest_first(k[k["within_target"] < TARGET_SHARE])
        if len(k):
            below.append(k.assign(_label=g.label))
        for r in k.head(TOP_KECAMATAN).to_dict("records"):
            n = int(r["dispatched"])
            n1 = int(r["dispatched_p1"])
            rows.append(
                [
                    g.label,
                    str(r["kecamatan"]),
                    _pct(r["within_target"], lang),
                    t("w_p1_cell", share=_pct(r["within_target_p1"], lang), n=number(n1, lang)) if n1 else "–",
                    _num(r["target_p1_min"], lang, 0),
                    _num(r[POOLED_P90], lang, 1),
                    _pct(r["reached_share"], lang),
                    number(n, lang) + (f" ({t('few_data')})" if n < MIN_INCIDENTS else ""),
                ]
            )
    table = Table(
        [
            t("w_group"),
            t("kecamatan"),
            kpi_label("within_target", lang, pooled=True),
            kpi_label("within_target_p1", lang, pooled=True),
            t("w_target_p1"),
            kpi_label(POOLED_P90, lang),
            kpi_label("reached_share", lang, pooled=True),
            t("w_n"),
        ],
        rows,
        ["l", "l", "r", "r", "r", "r", "r", "r"],
        t("w_kec_note", top=TOP_KECAMATAN, goal=goal),
    )
    if not below:
        return table, t("w_kec_none", goal=goal)
    w = weakest_first(pd.concat(below, ignore_index=True)).iloc[0]
    n1 = int(w["dispatched_p1"])
    p1 = (
        t(
            "w_worst_p1",
            share=_pct(w["within_target_p1"], lang),
            n=number(n1, lang),
            target=_num(w["target_p1_min"], lang, 0),
        )
        if n1
        else ""
    )
    lead = t(
        "w_worst",
        kec=w["kecamatan"],
        plan=w["_label"],
        w=_pct(w["within_target"], lang),
        p1=p1,
        p90=_num(w[POOLED_P90], lang, 1),
        r=_pct(w["reached_share"], lang),
    )
    return table, lead


def _weak_hours(run: RunData, t: Text, lang: str) -> tuple[Table, list[str], list[str]]:
    tz = _tz_name(run.spec.timezone)
    min_n = max(MIN_INCIDENTS, run.replications)
    rows, texts, short = [], [], []
    for g in _groups(run, lang):
        hs = hour_shares(run, g)
        if hs.empty:
            continue
        hours = [(int(h), int(n), float(sh)) for h, n, sh in zip(hs.index, hs["n"], hs["share"], strict=True)]
        max_n = max(n for _, n, _ in hours)
        pool = (
            [x for x in hours if x[1] >= min_n]
            or [x for x in hours if x[1] >= MIN_INCIDENTS]
            or [x for x in hours if x[1] == max_n]
        )
        low_h, low_n, low_share = min(pool, key=lambda x: (x[2], -x[1]))
        all_share = sum(n * sh for _, n, sh in hours) / sum(n for _, n, _ in hours)
        peaks = hour_open_peaks(run, g)
        peak_list = [(int(str(h)), float(v)) for h, v in peaks.items()]
        peak_h, peak_v = max(peak_list, key=lambda x: x[1]) if peak_list else (-1, math.nan)
        peak_hour = _hour_range(peak_h, lang) if peak_h >= 0 else "–"
        rows.append(
            [
                g.label,
                _hour_range(low_h, lang),
                _pct(low_share, lang),
                number(low_n, lang),
                _pct(all_share, lang),
                peak_hour,
                _num(peak_v, lang, 1),
            ]
        )
        short.append(
            t(
                "w_hour_short",
                plan=g.label,
                hour=_hour_range(low_h, lang),
                share=_pct(low_share, lang),
                peak_hour=peak_hour,
            )
        )
        texts.append(
            t(
                "w_hour_text",
                plan=g.label,
                hour=f"{_hour_range(low_h, lang)} {tz}",
                share=_pct(low_share, lang),
                n=number(low_n, lang),
                all=_pct(all_share, lang),
                peak_hour=f"{peak_hour} {tz}",
                peak=_num(peak_v, lang, 1),
            )
        )
    table = Table(
        [
            t("w_group"),
            t("h_low_hour", tz=tz),
            t("h_low_share"),
            "n",
            t("h_all_share"),
            t("h_peak_hour", tz=tz),
            t("h_peak"),
        ],
        rows,
        ["l", "r", "r", "r", "r", "r", "r"],
        t("w_hours_note", min=number(min_n, lang), few=number(MIN_INCIDENTS, lang)),
    )
    return table, texts, short


def _assumptions(run: RunData, t: Text) -> tuple[list[AssumptionRow], str, list[Source]]:
    sources = [Source(k, v) for k, v in run.spec.sources.items()]
    rows = [_assumption_row(a, run.spec.sources, t) for a in run.spec.assumptions]
    if rows:
        n_s = sum(r.sourced for r in rows)
        note = t("a_summary", s=number(n_s, t.lang), e=number(len(rows) - n_s, t.lang))
        n_c = sum(bool(a.conflicts) for a in run.spec.assumptions)
        if n_c:
            note += " " + t("a_conflicts", n=number(n_c, t.lang))
    else:
        note = t("a_none")
    return rows, note, sources


def _assumption_row(a: Assumption, urls: Mapping[str, str], t: Text) -> AssumptionRow:
    """One row of the assumptions table. Where sources disagree, the text goes on to give each
    source's figure, so the reader sees that the scenario chose one of them."""
    url = urls.get(a.source, "")
    if not url and a.source.startswith(("http://", "https://")):
        url = a.source
    text = a.text_id if t.lang == "id" and a.text_id else a.text
    if a.conflicts:
        sides = "; ".join(
            f"{number(c.figure, t.lang)} ({c.source}: {c.says_id if t.lang == 'id' and c.says_id else c.says})"
            for c in a.conflicts
        )
        text = f"{text.rstrip('.')}. {t('a_conflict', sides=sides)}"
    names = ", ".join(dict.fromkeys(n for n in (a.source, *a.also) if n))
    return AssumptionRow(text, t(f"basis_{a.basis}"), a.basis == "sourced", names, url)


def command_line(run: RunData) -> str:
    """The command as it was most likely typed, rebuilt from the manifest (which stores its parts)."""
    m = run.manifest
    parts = ["pilkada-sim", str(m.get("command", "run")), str(m["scenario"].get("path", m["scenario"]["name"]))]
    if run.baseline:
        parts += ["--baseline", run.baseline]
        others = [p for p in run.plans if p != run.baseline]
        if others:
            parts += ["--plans", ",".join(others)]
    else:
        parts += ["--plans", ",".join(run.plans)]
    if run.is_sweep:
        keys = list(m["grid"][0]["values"])
        for k in keys:
            vals = list(dict.fromkeys(str(g["values"][k]) for g in m["grid"]))
            parts += ["--vary", f"{k}={','.join(vals)}"]
        ref = run.reference_point
        if ref:  # not the first point, the default
            parts += ["--reference", ",".join(str(v) for v in m["grid"][ref]["values"].values())]
    prec = m.get("precision")
    if prec:
        parts += ["--precision", f"{prec['target']:g}", "--reps", str(prec.get("ceiling", run.replications))]
    else:
        parts += ["--reps", str(run.replications)]
    parts += ["--seed", str(m["seed"])]
    for o in m["scenario"].get("overrides") or []:
        parts += ["--set", str(o)]
    return " ".join(parts)


def _run_info(run: RunData, t: Text, lang: str) -> list[tuple[str, str]]:
    m = run.manifest
    sc = m["scenario"]
    overrides = [_override_words(run, str(o), lang) for o in sc.get("overrides") or []]
    backend = m.get("backend") or {}
    kind = code_label("backend", backend.get("kind", "–"), lang)
    if backend.get("address"):
        kind += f" {backend['address']}"
    info = [
        (t("r_command"), command_line(run)),
        (t("r_scenario"), f"{sc['name']} ({sc.get('path', '')})"),
        (t("r_sha"), str(sc.get("sha256", ""))[:12]),
        (t("r_overrides"), "; ".join(overrides) or t("none")),
    ]
    if run.is_sweep:
        keys = list(m["grid"][0]["values"])
        values = {k: ", ".join(dict.fromkeys(value_label(k, g["values"][k], lang) for g in m["grid"])) for k in keys}
        info.append((t("r_grid"), "; ".join(f"{key_words(run, k, lang)} = {v}" for k, v in values.items())))
    info += [
        (t("r_seed"), str(m["seed"])),
        (t("r_reps"), number(run.replications, lang)),
        (t("r_plans"), ", ".join(run.plans)),
    ]
    if run.baseline:
        info.append((t("r_baseline"), run.baseline))
    prec = m.get("precision")
    if prec:
        key = "precision_reached" if prec.get("reached") else "precision_missed"
        achieved = prec.get("achieved")
        info.append((t("r_precision"), t(key, t=_pct(prec["target"], lang), a=_pct(achieved, lang))))
    info += [
        (t("r_backend"), t("r_workers", kind=kind, n=number(int(backend.get("workers") or 1), lang))),
        (t("r_versions"), " · ".join(f"{k} {v}" for k, v in (m.get("versions") or {}).items())),
        (t("r_epoch"), f"{date(run.epoch.date(), lang)} {run.epoch:%H:%M} {_tz_name(run.spec.timezone)}"),
        (t("r_started"), _timestamp(m.get("started"), lang, run.spec.timezone)),
        (t("r_finished"), _timestamp(m.get("finished"), lang, run.spec.timezone)),
        (t("r_folder"), run.path.name),
    ]
    return info


# --- the optimization page ---------------------------------------------------------------------


def _plan_personnel(run: RunData, plan: str) -> dict[str, int]:
    """Personnel of one plan per kind (:meth:`RunData.personnel`, the plans table's figures)."""
    row: dict[Hashable, Any] = run.personnel().loc[plan].to_dict()
    return {str(k): int(v) for k, v in row.items()}


def _group_label(run: RunData, group: str, t: Text, lang: str) -> str:
    """A target group's name; the default group as 'Target umum (kecamatan, ...)'."""
    if group:
        return group
    tg = run.targets.drop_duplicates("kecamatan")
    kec = sorted(
        str(k) for k, g in zip(tg["kecamatan"], tg["target_group"], strict=True) if not isinstance(g, str) or not g
    )
    if not kec:
        return t("o_group_default_only")
    names = ", ".join(kec) if len(kec) <= 3 else t("o_group_many", n=number(len(kec), lang))
    return t("o_group_default", kec=names)


def _kpi_value(key: str, x: Any, lang: str, exact: bool = False) -> str:
    """A value of a constraint's or an objective's KPI: a percentage, minutes or a count (whole
    where it is); ``exact`` (a threshold): a percentage with a decimal where a whole one would round it."""
    k = objective(key)
    if not _finite(x):
        return "–"
    x = float(x)
    if k.is_share:
        return percent(x, lang, 0 if not exact or abs(100 * x - round(100 * x)) < 1e-9 else 1)
    if k.unit == "count":
        return _num(x, lang, 0 if x == round(x) else 2)
    return _num(x, lang, 1) + (f" {UNIT_WORDS[k.unit][lang]}" if k.unit in UNIT_WORDS else "")


def _threshold(c: Constraint, lang: str) -> str:
    return ("≥ " if c.direction == "at_least" else "≤ ") + _kpi_value(c.kpi, c.threshold, lang, exact=True)


def _estimate(key: str, est: Any, lo: Any, hi: Any, lang: str) -> str:
    k = objective(key)
    return _ci(est, lo, hi, lang, 2 if k.unit == "count" else 1, k.is_share)


def _row_constraint(r: Mapping[Hashable, Any]) -> Constraint:
    return Constraint(str(r["kpi"]), "at_least" if r["direction"] == "at_least" else "at_most", float(r["threshold"]))


def _missed(run: RunData, groups: pd.DataFrame, t: Text, lang: str, plan: str = "rec") -> str:
    """The groups and constraints the recommended plan (``plan='start'``: the start plan) misses,
    the first MISSED_NAMED of them by name (the weak spots list them all)."""
    items = []
    rows = groups[~groups[f"{plan}_met"].astype(bool)].to_dict("records")
    for r in rows[:MISSED_NAMED]:
        c = _row_constraint(r)
        items.append(
            t(
                "o_missed_item",
                group=_group_label(run, str(r["group"]), t, lang),
                kpi=kpi_label(c.kpi, lang, unit=False),
                value=_kpi_value(c.kpi, r[f"{plan}_estimate"], lang),
                threshold=_threshold(c, lang),
            )
        )
    if len(rows) > MISSED_NAMED:
        items.append(t("o_more_missed", n=number(len(rows) - MISSED_NAMED, lang)))
    return "; ".join(items)


def _objective_figures(run: RunData, opt: Optimization, key: str) -> tuple[float, float, _Diff | None]:
    """The objective in the start and the recommended plan, and their paired difference where the
    folder has it (comparison.csv), all from the confirmation."""
    rec = opt.record
    if key == "missed_groups":

        def missed(col: str) -> float:
            return float(opt.groups.loc[~opt.groups[col].astype(bool), "group"].nunique())

        return missed("start_met"), missed("rec_met"), None
    if key in OPTIMIZER_KPIS:  # a pooled percentile of the priority-1 incidents
        q = float(key.removeprefix("response_pooled_p").removesuffix("_p1_min"))
        inc = run.incidents

        def p1(plan: str) -> float:
            return pooled_response_percentile(inc[inc["plan"] == plan], q, priority=1)

        return p1(rec.start_plan), p1(rec.recommended_plan), None
    b = _stat(run, _Group(rec.start_plan, None, rec.start_plan), key)["mean"]
    p = _stat(run, _Group(rec.recommended_plan, None, rec.recommended_plan), key)["mean"]
    d = _cmp(run.comparison, rec.recommended_plan, key) if run.comparison is not None else None
    return b, p, d


def _objective_sentence(run: RunData, opt: Optimization, n: tuple[int, int], t: Text, lang: str) -> str:
    rec = opt.record
    key = str(rec.objective)
    b, p, d = _objective_figures(run, opt, key)
    if d is not None and _finite(d.d):
        words = _with_ci(*_diff_words(d, _kind(key), t, lang), t) + f", {_judge(d, key, t)}"
    elif _finite(b) and _finite(p):  # a point estimate only: no interval, no judgement
        diff = p - b
        words = _diff_words(_Diff(diff, math.nan, math.nan, False, p, b), _kind(key), t, lang)[0]
        if _kind(key) == "count" and diff == round(diff):
            words = _signed(diff, lang, 0) if diff else t("v_none")
    else:
        words = "–"
    return t(
        "o_fixed",
        n=number(n[1], lang),
        start=rec.start_plan,
        n_start=number(n[0], lang),
        rec=rec.recommended_plan,
        objective=objective_label(key, lang),
        b=_kpi_value(key, b, lang),
        p=_kpi_value(key, p, lang),
        d=words,
    )


def _optimization_verdict(run: RunData, opt: Optimization, t: Text, lang: str) -> list[str]:
    rec = opt.record
    use_start = _plan_personnel(run, rec.start_plan)
    use_rec = _plan_personnel(run, rec.recommended_plan)
    n_start, n_rec = sum(use_start.values()), sum(use_rec.values())
    common = {"rec": rec.recommended_plan, "start": rec.start_plan, "n": number(n_rec, lang)}
    common["n_start"] = number(n_start, lang)
    if rec.mode == "fixed_force":
        first = _objective_sentence(run, opt, (n_start, n_rec), t, lang)
        first += " " + (
            t("o_fixed_meets") if rec.meets_targets else t("o_fixed_not_met", groups=_missed(run, opt.groups, t, lang))
        )
    elif not rec.meets_targets:
        first = t("o_not_met", **common, groups=_missed(run, opt.groups, t, lang))
    elif n_rec < n_start:
        first = t("o_min_fewer", **common, m=number(n_start - n_rec, lang))
    elif n_rec > n_start:
        first = t("o_min_more", **common, m=number(n_rec - n_start, lang))
    else:
        first = t("o_min_same", **common)
    sentences = [first]
    kinds = [k for k in use_start if use_start[k] != use_rec.get(k, 0)]
    items = [f"{force_label(k, lang)} {number(use_start[k], lang)} → {number(use_rec.get(k, 0), lang)}" for k in kinds]
    if items:
        sentences.append(t("o_by_kind", items=", ".join(items)))
    if not opt.groups["start_met"].astype(bool).all():  # why the search had to add or move personnel
        sentences.append(t("o_start_missed", start=rec.start_plan, groups=_missed(run, opt.groups, t, lang, "start")))
    return sentences


def _place(run: RunData, section: str, where: str, t: Text, lang: str) -> str:
    """Where a changed value is: the post's name, the TPS class, every PPK or TPS."""
    if section in ("patrols", "reserve", "tni_backup"):
        names = {p.id: p.name for p in run.spec.sites.posts}
        return names.get(where, where)
    if section == "tps_guards":
        return tps_class_label(where, lang)
    if section == "ppk_guards":
        return t("o_place_ppk")
    if section == "linmas_per_tps":
        return t("o_place_tps")
    return t("o_place_other")


def _what(section: str, key: str, t: Text) -> str:
    """What a changed value is: 'patroli, unit', 'penjaga TPS, TPS per klaster'; an unknown key as written."""
    if section == "other":
        return key
    field = key.rsplit(".", 1)[-1] if "." in key else ""
    words = code_label("plan_section", section, t.lang)
    if field in LABELS["plan_field"]:
        words += ", " + code_label("plan_field", field, t.lang)
    return words


def _plan_value(x: Any, lang: str) -> str:
    return _num(x, lang, 0) if _finite(x) and float(x) == round(float(x)) else _num(x, lang, 2)


def _optimization_changes(run: RunData, opt: Optimization, t: Text, lang: str) -> tuple[str, list[str], Table]:
    rec = opt.record
    lines, rows = [], []
    less: list[str] = []
    more: list[str] = []
    net: dict[str, int] = {}
    for r in opt.changes.to_dict("records"):
        place = _place(run, str(r["section"]), str(r["where"]), t, lang)
        what = _what(str(r["section"]), str(r["key"]), t)
        kind = force_label(str(r["kind"]), lang)
        d = int(r["officers_delta"])
        net[kind] = net.get(kind, 0) + d
        delta = t("o_delta", d=_signed(d, lang, 0), kind=kind) if d else t("o_delta_none")
        start, after = _plan_value(r["start"], lang), _plan_value(r["recommended"], lang)
        lines.append(t("o_change", place=place, what=what, start=start, rec=after, delta=delta))
        if d:
            (less if d < 0 else more).append(f"{place} {_signed(d, lang, 0)} {kind}")
        officers = f"{number(int(r['officers_start']), lang)} → {number(int(r['officers_recommended']), lang)}"
        rows.append([place, what, start, after, kind, officers, _signed(d, lang, 0) if d else "0"])
    if lines:
        items = ", ".join(f"{k} {_signed(v, lang, 0) if v else '0'}" for k, v in net.items())
        lead = t(
            "o_changes_lead", n=number(len(lines), lang), start=rec.start_plan, rec=rec.recommended_plan, items=items
        )
        lead += "".join(f" {t(key, items='; '.join(x))}" for key, x in (("o_less", less), ("o_more", more)) if x)
    else:
        lead = t("o_no_changes", start=rec.start_plan, rec=rec.recommended_plan)
    plans = {"start": rec.start_plan, "rec": rec.recommended_plan}
    table = Table(
        [
            t("o_c_place"),
            t("o_c_what"),
            rec.start_plan,
            rec.recommended_plan,
            t("o_c_kind"),
            t("o_c_officers", **plans),
            t("o_c_delta"),
        ],
        rows,
        ["l", "l", "r", "r", "l", "r", "r"],
    )
    return lead, lines, table


def _optimization_evidence(run: RunData, opt: Optimization, t: Text, lang: str) -> Table:
    rec = opt.record
    plans = {"start": rec.start_plan, "rec": rec.recommended_plan}
    yes_no = {True: t("yes"), False: t("no")}
    rows = []
    for r in opt.groups.to_dict("records"):
        c = _row_constraint(r)
        lo, hi = float(r["diff_lo"]), float(r["diff_hi"])
        significant = _finite(lo) and _finite(hi) and (lo > 0 or hi < 0)
        d = _Diff(float(r["diff"]), lo, hi, significant, float(r["rec_estimate"]), float(r["start_estimate"]))
        n = int(r["incidents"])
        rows.append(
            [
                _group_label(run, str(r["group"]), t, lang),
                kpi_label(c.kpi, lang),
                _threshold(c, lang),
                _estimate(c.kpi, r["start_estimate"], r["start_lo"], r["start_hi"], lang),
                _estimate(c.kpi, r["rec_estimate"], r["rec_lo"], r["rec_hi"], lang),
                _with_ci(*_diff_words(d, _kind(c.kpi), t, lang), t),
                f"{yes_no[bool(r['start_met'])]} → {yes_no[bool(r['rec_met'])]}",
                number(n, lang) + (f" ({t('few_data')})" if n < MIN_INCIDENTS else ""),
            ]
        )
    return Table(
        [
            t("o_c_group"),
            t("c_kpi"),
            t("o_c_target"),
            rec.start_plan,
            rec.recommended_plan,
            t("o_c_diff", **plans),
            t("o_c_met", **plans),
            t("o_c_n", **plans),
        ],
        rows,
        ["l", "l", "r", "r", "r", "r", "l", "r"],
        t("o_evidence_note", n=number(rec.confirm_replications, lang), seed=str(rec.confirm_seed)),
    )


def _optimization_search(opt: Optimization, t: Text, lang: str) -> str:
    rec = opt.record
    if rec.mode == "fixed_force":
        method = t("o_method_fixed_force", objective=objective_label(str(rec.objective), lang))
    else:
        method = t("o_method_min_force")
    return t(
        "o_search",
        method=method,
        start=rec.start_plan,
        search_seed=str(rec.search_seed),
        cand=number(rec.candidates, lang),
        spent=number(rec.replications_spent, lang),
        budget=number(rec.budget_reps, lang),
        delta=t("points", x=_num(100 * rec.indifference, lang, 1)),
        exhausted=t("o_exhausted") if rec.budget_exhausted else "",
        n=number(rec.confirm_replications, lang),
        seed=str(rec.confirm_seed),
    )


def _optimization_weak(run: RunData, opt: Optimization, t: Text, lang: str) -> list[str]:
    """The constraints the recommended plan misses, then those it meets with the interval crossing
    the threshold, then those no incident tested."""
    missed, unsure, untested = [], [], []
    for r in opt.groups.to_dict("records"):
        c = _row_constraint(r)
        n = int(r["incidents"])
        words = {
            "group": _group_label(run, str(r["group"]), t, lang),
            "kpi": kpi_label(c.kpi, lang, unit=False),
            "threshold": _threshold(c, lang),
            "few": t("o_weak_few", n=number(n, lang)) if n < MIN_INCIDENTS else "",
        }
        est, lo, hi = r["rec_estimate"], r["rec_lo"], r["rec_hi"]
        if not _finite(est):
            untested.append(t("o_weak_nodata", **words))
        elif not bool(r["rec_met"]):
            missed.append(t("o_weak_missed", **words, value=_estimate(c.kpi, est, lo, hi, lang)))
        elif _finite(lo) and _finite(hi) and not (c.met(float(lo)) and c.met(float(hi))):
            k = objective(c.kpi)
            interval = _interval(lo, hi, lang, 1, k.is_share)
            unsure.append(t("o_weak_unsure", **words, value=_kpi_value(c.kpi, est, lang), interval=interval))
    return [*missed, *unsure, *untested] or [t("o_weak_none")]


def optimization_page(run: RunData, lang: str) -> OptimizationPage | None:
    """The optimization page of a confirmation folder (None for any other folder)."""
    opt = run.optimization
    if opt is None:
        return None
    t = Text(lang, DOC_WORDS)
    lead, lines, table = _optimization_changes(run, opt, t, lang)
    return OptimizationPage(
        heading=t("h_optimization"),
        headings={k: t(f"h_o_{k}") for k in ("changes", "evidence", "weak")},
        verdict=_optimization_verdict(run, opt, t, lang),
        changes_lead=lead,
        changes=lines,
        changes_table=table,
        evidence=_optimization_evidence(run, opt, t, lang),
        search=_optimization_search(opt, t, lang),
        weak=_optimization_weak(run, opt, t, lang),
        meets_targets=opt.record.meets_targets,
    )


# --- the whole briefing ------------------------------------------------------------------------


def _description(part: Scenario | Plan, lang: str) -> str:
    """A scenario's or a plan's description in the briefing's language: ``description_id`` in
    Indonesian when the scenario gives it, else ``description`` (as written)."""
    return part.description_id if lang == "id" and part.description_id else part.description


def briefing_content(run: RunData, lang: str) -> Briefing:
    t = Text(lang, DOC_WORDS)
    spec = run.spec
    kind = "sweep" if run.is_sweep else "compare" if run.baseline is not None and run.comparison is not None else "run"
    subtitle = t(
        "subtitle",
        kind=t("kind_optimize" if run.optimization is not None else f"kind_{kind}"),
        day=date(spec.election_day, lang),
        reps=number(run.replications, lang),
        seed=str(run.manifest["seed"]),
    )
    tps = run.sites[run.sites["kind"] == "tps"]
    context = t(
        "context",
        tps=number(len(tps), lang),
        kec=number(tps["kecamatan"].nunique(), lang),
        voters=number(int(tps["voters"].sum()), lang),
    )
    kt = _kec_stats(run)
    if kind == "compare":
        verdict, verdict_table = _verdict_compare(run, t, lang)
    elif kind == "sweep":
        verdict, verdict_table = _verdict_sweep(run, t, lang), None
    else:
        verdict, verdict_table = _verdict_run(run, t, lang, kt), None
    weak_kec, weak_lead = _weak_kecamatan(run, t, lang, kt)
    weak_hours, weak_hours_text, weak_hours_short = _weak_hours(run, t, lang)
    assumptions, a_note, sources = _assumptions(run, t)
    headings = {
        k: t(f"h_{k}")
        for k in (
            "question",
            "plans",
            "verdict",
            "charts",
            "weak",
            "assumptions",
            "run",
            "points",
            "weak_kec",
            "weak_hours",
            "sources",
            "description",
        )
    }
    labels = {k: t(k) for k in ("notice", "no_charts", "s_none", "a_text", "a_basis", "a_source")}
    labels["page"] = DOC_WORDS["page"][lang]
    labels["more_rows"] = DOC_WORDS["more_rows"][lang]
    labels["more_items"] = DOC_WORDS["more_items"][lang]
    return Briefing(
        lang=lang,
        title=spec.title or spec.name,
        subtitle=subtitle,
        context=context,
        description=_description(spec, lang),
        headings=headings,
        labels=labels,
        question=_question(run, t, lang),
        plans=[PlanInfo(p, _description(spec.plans[p], lang) if p in spec.plans else "") for p in run.plans],
        plans_table=_plans_table(run, t, lang),
        points_table=_points_table(run, t, lang) if run.is_sweep else None,
        verdict=verdict,
        verdict_table=verdict_table,
        weak_lead=weak_lead,
        weak_kecamatan=weak_kec,
        weak_hours=weak_hours,
        weak_hours_text=weak_hours_text,
        weak_hours_short=weak_hours_short,
        assumptions=assumptions,
        assumptions_note=a_note,
        sources=sources,
        run_info=_run_info(run, t, lang),
        footer=t("generated", folder=run.path.name),
        kind=kind,
        optimization=optimization_page(run, lang),
    )
