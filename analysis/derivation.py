"""The column-at-a-time derivation of the analysis dataset (the rules are in `analysis.datasets`' docstring).

Every source table becomes column arrays (`analysis.arrays.Columns`) and each variable a per-patient
reduction over them: "the first palliative line" is the first row per patient where the line is palliative
and numbered, "death" the earliest date of death per patient, and so on, over all the snapshot's patients at
once. `analysis.datasets.build_columns` is the way in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from analysis import arrays
from analysis.datasets import (
    ADVANCED_EXTENTS,
    BASELINE_ANALYTES,
    COLUMNS,
    DAYS_PER_YEAR,
    ENDPOINT_DATES,
    GROUPS,
    NEC_CELL_TYPES,
    RESPONSE_RANK,
    age_group,
    ps_group,
    regimen_class,
)
from registry.pathology.rules import analysis_group


class Derivation:
    """The derivation of every column for the snapshot's patients (see the module docstring for the rules)."""

    def __init__(self, snapshot: Any, cfg: Mapping[str, Any], cutoff: np.datetime64) -> None:
        self.cfg, self.cutoff = cfg, cutoff
        patients = snapshot.patients
        self.patient_ids = [row[0] for row in patients.rows]
        if patients.names[0] != "id":
            raise ValueError("the patients' first column must be their id")
        self.n = len(self.patient_ids)
        positions = arrays.PatientIndex(self.patient_ids)
        table = {name: arrays.Columns(getattr(snapshot, name), positions) for name in (
            "patients", "enrolments", "baselines", "tumours", "specimens", "labs", "lines", "evaluations",
            "followups", "treatment_status", "classifications")}
        self.t = table
        self.regimens = _RegimenClasses(snapshot.regimen_components)
        self.out: dict[str, list[Any]] = {}
        #: name of an imputed date → per patient: imputed? (the order of `imputed_dates` is the order here)
        self.imputed: dict[str, np.ndarray] = {}

    def one(self, table: str) -> np.ndarray:
        """Per patient, the row of a one-per-patient form (the last one if there were several); -1 if none."""
        t = self.t[table]
        return arrays.last_row(t.pos, np.ones(t.n, dtype=bool), self.n)

    def columns(self) -> dict[str, list[Any]]:
        n, out, t = self.n, self.out, self.t
        p = t["patients"]
        out["patient_id"] = list(self.patient_ids)
        out["study_id"] = p.obj("study_id").tolist()
        out["site_id"] = p.obj("site_id").tolist()
        out["country"] = p.obj("site__country").tolist()
        withdrawn = p.flag("withdrawn")

        # --- population building blocks
        enrolment = self.one("enrolments")
        e = t["enrolments"]
        eligible = arrays.take(e.flag("eligible"), enrolment)
        tumour = self.one("tumours")
        tu = t["tumours"]
        advanced = arrays.take(tu.isin("disease_extent_at_diagnosis", ADVANCED_EXTENTS)
                               | ~np.isnat(tu.day("advanced_disease_date")), tumour)
        diagnosis = self.date("date_of_diagnosis", e, "date_of_diagnosis", "date_of_diagnosis_precision", enrolment)
        group, final_diagnosis, final_ki67, ki67_central = self.classification()

        # --- line 1 = the first palliative line
        ln = t["lines"]
        line_number_known = np.array([v is not None for v in ln.obj("line_number")], dtype=bool)
        line1 = arrays.first_row(ln.pos, (ln.obj("intent") == "palliative") & line_number_known, n)
        has_line1 = line1 >= 0
        origin = self.date("line1_start", ln, "start_date", "start_date_precision", line1)
        klass, chemo = self.regimen_classes(ln, line1)
        out["received_palliative_systemic"] = arrays.objects(
            arrays.take(t["treatment_status"].obj("received_palliative_systemic"), self.one("treatment_status")))
        out["received_palliative_systemic"] = [v or None for v in out["received_palliative_systemic"]]
        treated = has_line1 & (origin <= self.cutoff) & chemo

        # --- covariates
        self.covariates(diagnosis, origin, line1)
        ki67, ki67_source = self.ki67(group, final_ki67, ki67_central)
        self.cell_type(group, final_diagnosis)
        self.baseline_labs(line1)
        self.tumour(tumour)

        # --- vital status as of the cut-off; line-1 evaluations seen by the cut-off, after the origin
        death, last_alive = self.vital_status(line1)
        ev = t["evaluations"]
        line1_ids = arrays.take(ln.obj("id"), line1)
        ev_dates = ev.day("eval_date")
        ev_line1 = has_line1[ev.pos] & (ev.obj("line_id") == line1_ids[ev.pos])
        seen = ev_line1 & (origin[ev.pos] < ev_dates) & (ev_dates <= self.cutoff)
        rank = np.array([RESPONSE_RANK.get(r, 0) for r in ev.obj("overall_response")], dtype=np.int64)
        evaluable = seen & (rank > 0)
        n_evaluable = arrays.count_rows(ev.pos, evaluable, n)
        clinical = self.clinical_progression(line1)

        # --- endpoints of the treated (palliative chemotherapy in line 1 started by the cut-off)
        os_days, os_event = self.survival(origin, death, last_alive, treated)
        self.pfs(origin, ev.pos, ev_dates, rank, evaluable, clinical, death, treated)
        self.response(ev.pos, ev_dates, rank, evaluable, n_evaluable, clinical, death, treated)
        os_dx = advanced & ~np.isnat(diagnosis) & (diagnosis <= self.cutoff)
        out["os_dx_days"], out["os_dx_event"] = self.survival(diagnosis, death, last_alive, os_dx)

        # --- populations
        p0 = eligible & ~withdrawn
        p1 = p0 & advanced
        p2 = p1 & np.array([g in GROUPS for g in group.tolist()], dtype=bool)
        p3 = p2 & treated & np.array([d is not None for d in os_days], dtype=bool)
        p4 = p3 & (n_evaluable > 0)
        for name in ("orr", "dcr", "immediate_progression_evaluable"):
            out[name] = arrays.objects(np.array(out[name], dtype=object), p4)

        out.update(
            withdrawn=withdrawn.tolist(), eligible=eligible.tolist(), advanced=advanced.tolist(),
            p0=p0.tolist(), p1=p1.tolist(), p2=p2.tolist(), p3=p3.tolist(), p4=p4.tolist(),
            ki67=ki67, ki67_source=ki67_source, os_days=os_days, os_event=os_event,
            line1_number=arrays.objects(arrays.take(ln.obj("line_number"), line1)),
            line1_start=arrays.iso(origin), line1_regimen=arrays.objects(arrays.take(ln.obj("regimen__code"), line1)),
            line1_regimen_class=klass,
            line1_platinum_etoposide=[None if v is None else int(bool(v)) for v in
                                      arrays.take(ln.obj("is_platinum_etoposide"), line1).tolist()],
            line1_is_chemotherapy=arrays.ints(chemo, has_line1),
            line1_n_cycles=arrays.objects(arrays.take(ln.obj("n_cycles"), line1)),
        )
        self.imputed_dates()
        return {name: out[name] for name in COLUMNS}

    def date(self, name: str, table: arrays.Columns, column: str, precision: str, rows: np.ndarray) -> np.ndarray:
        """The analysis date (partial dates imputed) of a chosen row per patient; records `name` if imputed."""
        days, imputed = arrays.impute(table.day(column), table.obj(precision))
        self.imputed[name] = arrays.take(imputed, rows)
        return arrays.take(days, rows)

    def classification(self):
        c, out = self.t["classifications"], self.out
        row = self.one("classifications")
        final_diagnosis = arrays.take(c.obj("final_diagnosis"), row)
        groups = {d: analysis_group(d) for d in set(final_diagnosis.tolist())}
        group = np.array([groups[d] for d in final_diagnosis.tolist()], dtype=object)
        categories = {"MiNEN": "MiNEN", "not_reviewable": "not_reviewable"}
        out["final_diagnosis"] = final_diagnosis.tolist()
        out["group"] = group.tolist()
        out["classification"] = [
            "not_classified" if r < 0 else g if g in GROUPS else categories.get(d, "not_HG_NEN")
            for r, g, d in zip(row.tolist(), out["group"], out["final_diagnosis"], strict=True)]
        final_ki67 = arrays.take(c.num("final_ki67"), row)
        central = arrays.take(c.obj("ki67_source") == "central", row)
        return group, final_diagnosis, final_ki67, central

    def regimen_classes(self, ln: arrays.Columns, line1: np.ndarray) -> tuple[list[str | None], np.ndarray]:
        keys = zip(*(arrays.take(ln.obj(c), line1).tolist() for c in (
            "regimen_id", "backbone_regimen_id", "is_platinum_etoposide", "is_temozolomide_based")), strict=True)
        klass, chemo = [], np.zeros(self.n, dtype=bool)
        for i, (key, row) in enumerate(zip(keys, line1.tolist(), strict=True)):
            if row < 0:
                klass.append(None)
                continue
            value, chemo[i] = self.regimens[key]
            klass.append(value)
        return klass, chemo

    def covariates(self, diagnosis: np.ndarray, origin: np.ndarray, line1: np.ndarray) -> None:
        b, ln, out = self.t["baselines"], self.t["lines"], self.out
        baseline = self.one("baselines")
        has_baseline = baseline >= 0
        born = self.date("date_of_birth", b, "date_of_birth", "date_of_birth_precision", baseline)
        reference = np.where(np.isnat(origin), diagnosis, origin)
        known = has_baseline & ~np.isnat(born) & ~np.isnat(reference)
        days = arrays.days_between(reference, born)
        ages = [round(d / DAYS_PER_YEAR, 2) if k else None for d, k in zip(days.tolist(), known.tolist(), strict=True)]
        sex = [s or None for s in arrays.take(b.obj("sex"), baseline).tolist()]
        line_ps = arrays.take(ln.obj("ecog_ps_at_start"), line1).tolist()
        baseline_ps = arrays.take(b.obj("ecog_ps"), baseline).tolist()
        ps = [None if not has else (lp if lp is not None else bp)
              for has, lp, bp in zip(has_baseline.tolist(), line_ps, baseline_ps, strict=True)]
        ps_groups = {v: ps_group(v) for v in set(ps)}
        out.update(age_years=ages, age_group=[None if a is None else age_group(a) for a in ages], sex=sex,
                   male=[None if not s else int(s == "male") for s in sex], ps=ps,
                   ps_group=[ps_groups[v] for v in ps])

    def ki67(self, group, final_ki67: np.ndarray, central: np.ndarray) -> tuple[list, list]:
        """Central (final classification) when reviewed, else local: the last diagnostic specimen's count, else
        the highest (the first of equal highest)."""
        s, n = self.t["specimens"], self.n
        value = s.num("ki67_percent")
        local = ~np.isnan(value)
        last_diagnostic = arrays.last_row(s.pos, local & s.flag("is_diagnostic"), n)
        highest = np.full(n, -np.inf)
        np.maximum.at(highest, s.pos[local], value[local])
        first_highest = arrays.first_row(s.pos, local & (value == highest[s.pos]), n)
        chosen = np.where(last_diagnostic >= 0, last_diagnostic, first_highest)
        has_local = chosen >= 0
        local_value = arrays.take(value, chosen)
        has_final = ~np.isnan(final_ki67)
        use_central = has_final & central
        ki67 = np.where(use_central, final_ki67, np.where(has_local, local_value, final_ki67))
        known = use_central | has_local | has_final
        source = np.where(use_central, "central", "local").astype(object)
        source[~known] = None
        cutoff, operator = float(self.cfg["ki67_cutoff"]), self.cfg["ki67_operator"]
        high = ki67 >= cutoff if operator == "ge" else ki67 > cutoff
        self.out.update(ki67=arrays.floats(np.where(known, ki67, np.nan)), ki67_source=source.tolist(),
                        ki67_high=arrays.ints(high, known))
        return self.out["ki67"], self.out["ki67_source"]

    def cell_type(self, group: np.ndarray, final_diagnosis: np.ndarray) -> None:
        """From the central NEC diagnosis, else the first diagnostic specimen with a cell type (NEC only)."""
        s = self.t["specimens"]
        cell = s.obj("cell_type")
        candidate = s.flag("is_diagnostic") & np.array([bool(c) for c in cell], dtype=bool)
        first = arrays.take(cell, arrays.first_row(s.pos, candidate, self.n)).tolist()
        self.out["cell_type"] = [
            NEC_CELL_TYPES.get(d) or (c if c and g == "NEC" and c != "not_applicable" else None)
            for d, g, c in zip(final_diagnosis.tolist(), group.tolist(), first, strict=True)]

    def baseline_labs(self, line1: np.ndarray) -> None:
        """Line-1 baseline samples (linked to line 1, or unlinked when line 1 is line number 1); the last sample
        of each analyte counts."""
        lab, ln, out, n = self.t["labs"], self.t["lines"], self.out, self.n
        line1_ids = arrays.take(ln.obj("id"), line1)
        line1_is_first = arrays.take(ln.obj("line_number"), line1) == 1
        line_id = lab.obj("line_id")
        unlinked = np.array([v is None for v in line_id], dtype=bool)
        has_line1 = (line1 >= 0)[lab.pos]
        of_line1 = has_line1 & ((line_id == line1_ids[lab.pos]) & ~unlinked | unlinked & line1_is_first[lab.pos])
        analyte = lab.obj("analyte")
        above = lab.obj("above_uln")
        for code in BASELINE_ANALYTES:
            last = arrays.last_row(lab.pos, of_line1 & (analyte == code), n)
            out[f"{code}_above_uln"] = [None if v is None else int(bool(v)) for v in arrays.take(above, last).tolist()]
            if code == "alp":
                out["alp_x_uln"] = arrays.floats(arrays.take(lab.num("value_x_uln"), last))

    def tumour(self, row: np.ndarray) -> None:
        tu, out = self.t["tumours"], self.out
        known = row >= 0
        groups = [g or None for g in arrays.take(tu.obj("primary_site_group"), row).tolist()]
        out.update(
            primary_site=[v or None for v in arrays.take(tu.obj("primary_site"), row).tolist()],
            primary_site_group=groups,
            colorectal_primary=[None if g is None else int(g == "colorectal") for g in groups],
            liver_metastases=arrays.ints(arrays.take(tu.flag("liver_metastases"), row), known),
            resection_of_primary=[v or None for v in arrays.take(tu.obj("resection_of_primary"), row).tolist()],
        )

    def vital_status(self, line1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(date of death if on or before the cut-off, last date known alive capped at the cut-off): alive dates
        are follow-up dates last known alive, alive visits, line-1 evaluations and any line's start."""
        fu, ev, ln, n = self.t["followups"], self.t["evaluations"], self.t["lines"], self.n
        everywhere = np.ones(fu.n, dtype=bool)
        died, died_imputed = arrays.impute(fu.day("date_of_death"), fu.obj("date_of_death_precision"))
        alive, alive_imputed = arrays.impute(fu.day("date_last_known_alive"), fu.obj("date_last_known_alive_precision"))
        # the order of the names in `imputed_dates` is the order a reader of the follow-ups meets them
        self.followup_imputed = (arrays.first_row(fu.pos, died_imputed, n), arrays.first_row(fu.pos, alive_imputed, n))
        death = arrays.min_day(fu.pos, died, everywhere, n)
        visits = fu.day("visit_date")
        alive_visit = fu.obj("vital_status") == "alive"
        line1_ids = arrays.take(ln.obj("id"), line1)
        ev_line1 = (line1 >= 0)[ev.pos] & (ev.obj("line_id") == line1_ids[ev.pos])
        starts, _ = arrays.impute(ln.day("start_date"), ln.obj("start_date_precision"))
        last = np.maximum.reduce([
            arrays.max_day(fu.pos, alive, everywhere, n).view(np.int64),
            arrays.max_day(fu.pos, visits, alive_visit, n).view(np.int64),
            arrays.max_day(ev.pos, ev.day("eval_date"), ev_line1, n).view(np.int64),
            arrays.max_day(ln.pos, starts, np.ones(ln.n, dtype=bool), n).view(np.int64),
        ]).view("datetime64[D]")
        after_cutoff = death > self.cutoff
        last_alive = np.where(after_cutoff, self.cutoff, np.where(np.isnat(death), np.minimum(last, self.cutoff),
                                                                  arrays.NAT))
        last_alive[np.isnat(death) & np.isnat(last)] = arrays.NAT
        death = np.where(after_cutoff, arrays.NAT, death)
        return death, last_alive

    def clinical_progression(self, line1: np.ndarray) -> np.ndarray:
        ln = self.t["lines"]
        flagged = arrays.take(ln.flag("clinical_progression"), line1)
        days, imputed = arrays.impute(ln.day("clinical_progression_date"),
                                      ln.obj("clinical_progression_date_precision"))
        self.imputed["clinical_progression_date"] = arrays.take(imputed, line1) & flagged
        clinical = np.where(flagged, arrays.take(days, line1), arrays.NAT)
        return np.where(clinical > self.cutoff, arrays.NAT, clinical)

    def survival(self, origin: np.ndarray, death: np.ndarray, last_alive: np.ndarray, wanted: np.ndarray):
        """(days, event) from `origin` for the patients `wanted`: to death (an event; None if the death precedes
        the origin), else censored at the last known alive date (never below 0), else 0 days censored."""
        dead = ~np.isnat(death)
        to_death = arrays.days_between(death, origin)
        to_alive = np.maximum(arrays.days_between(last_alive, origin), 0)
        days = np.where(dead, to_death, np.where(np.isnat(last_alive), 0, to_alive))
        known = wanted & (~dead | (to_death >= 0))
        return arrays.ints(days, known), arrays.ints(dead.astype(np.int64), known)

    def pfs(self, origin, pos, ev_dates, rank, evaluable, clinical, death, treated) -> None:
        """Progression = the first PD evaluation or clinical progression, whichever is earlier; else death (an
        event, or censored at the last progression-free evaluation when late and the rule says so)."""
        n, cfg = self.n, self.cfg
        first_pd = arrays.min_day(pos, ev_dates, evaluable & (rank == 1), n)
        progression = np.fmin(first_pd, clinical)
        progressed = ~np.isnat(progression)
        before = evaluable & (rank != 1) & (~progressed[pos] | (ev_dates < progression[pos]))
        last_pf = arrays.max_day(pos, ev_dates, before, n)
        last_pf = np.where(np.isnat(last_pf), origin, last_pf)
        dead = ~np.isnat(death)
        late = dead & ~progressed & (arrays.days_between(death, last_pf) > 2 * int(cfg["pfs_assessment_interval_days"]))
        censor_late = late & (cfg["pfs_late_death_rule"] == "censor")
        end = np.where(progressed, np.fmin(progression, death),
                       np.where(dead & ~censor_late, death, last_pf))
        event = progressed | (dead & ~censor_late)
        self.out.update(pfs_days=arrays.ints(arrays.days_between(end, origin), treated),
                        pfs_event=arrays.ints(event.astype(np.int64), treated),
                        pfs_late_death=arrays.objects(late, treated))

    def response(self, pos, ev_dates, rank, evaluable, n_evaluable, clinical, death, treated) -> None:
        """First and best response of line 1, ORR/DCR, and immediate progression under both denominators."""
        n, out = self.n, self.out
        first = arrays.first_row(pos, evaluable, n)
        has_first = first >= 0
        first_rank = arrays.take(rank, first, missing=0)
        first_date = arrays.take(ev_dates, first)
        best_rank = np.zeros(n, dtype=np.int64)
        np.maximum.at(best_rank, pos[evaluable], rank[evaluable])
        names = {4: "CR", 3: "PR", 2: "SD", 1: "PD", 0: None}
        first_code = arrays.take(self.t["evaluations"].obj("overall_response"), first).tolist()
        ipd_treated = np.where(has_first, (first_rank == 1) | (clinical <= first_date),
                               ~np.isnat(clinical) | ~np.isnat(death))
        out.update(
            n_evaluations=arrays.ints(n_evaluable, treated),
            first_response=arrays.objects(np.array(first_code, dtype=object), treated & has_first),
            best_response=[names[r] if t else None for r, t in zip(best_rank.tolist(), treated.tolist(), strict=True)],
            orr=arrays.ints((best_rank >= 3).astype(np.int64), treated & has_first),
            dcr=arrays.ints((best_rank >= 2).astype(np.int64), treated & has_first),
            immediate_progression_evaluable=arrays.ints((first_rank == 1).astype(np.int64), treated & has_first),
            immediate_progression_treated=arrays.ints(ipd_treated.astype(np.int64), treated),
        )

    def imputed_dates(self) -> None:
        """`imputed_dates` lists the imputed dates in the order the rules meet them; `date_imputed` flags the
        origin and endpoint dates among them. Patients share a handful of combinations: each is spelled once."""
        imp = self.imputed
        first_death, first_alive = self.followup_imputed
        died, alive = first_death >= 0, first_alive >= 0
        death_first = died & (~alive | (first_death <= first_alive))
        bits = (imp["date_of_diagnosis"], imp["line1_start"], imp["date_of_birth"], died, alive,
                imp["clinical_progression_date"], death_first)
        codes = sum(flag.astype(np.int64) << i for i, flag in enumerate(bits))
        spelled = {code: _imputed_names(code) for code in np.unique(codes).tolist()}
        flag = {code: not ENDPOINT_DATES.isdisjoint(names.split(",")) for code, names in spelled.items()}
        codes = codes.tolist()
        self.out.update(imputed_dates=[spelled[c] for c in codes], date_imputed=[flag[c] for c in codes])


def _imputed_names(code: int) -> str:
    """The `imputed_dates` text of one combination (bits as in `Derivation.imputed_dates`)."""
    diagnosis, line1, birth, death, alive, clinical, death_first = ((code >> i) & 1 for i in range(7))
    names = [n for n, was in (("date_of_diagnosis", diagnosis), ("line1_start", line1),
                              ("date_of_birth", birth)) if was]
    follow = [("date_of_death", death), ("date_last_known_alive", alive)]
    if not death_first:
        follow.reverse()
    names += [n for n, was in follow if was]
    if clinical:
        names.append("clinical_progression_date")
    return ",".join(names)


class _RegimenClasses(dict):
    """(regimen, backbone, platinum-etoposide, temozolomide) → (regimen class, has a cytotoxic drug), derived
    once per distinct combination instead of once per patient."""

    def __init__(self, components: Iterable[Mapping[str, Any]]) -> None:
        super().__init__()
        self.drugs: dict[int, set[str]] = defaultdict(set)
        self.cytotoxic: dict[int, bool] = defaultdict(bool)
        for comp in components:
            self.drugs[comp["regimen_id"]].add(comp["drug__code"])
            self.cytotoxic[comp["regimen_id"]] |= bool(comp["drug__is_cytotoxic"])

    def __missing__(self, key: tuple) -> tuple[str | None, bool]:
        regimen, backbone, platinum_etoposide, temozolomide = key
        names = set(self.drugs.get(regimen, ())) | set(self.drugs.get(backbone, ()))
        chemo = bool(self.cytotoxic.get(regimen) or self.cytotoxic.get(backbone))
        value = (regimen_class(names, platinum_etoposide, temozolomide) if regimen else None, chemo)
        self[key] = value
        return value



# ---------------------------------------------------------------------------------------------------------
# Frozen form and fingerprint
