"""How each CRF field is presented to a research nurse: a plain label, its unit, and a line of help.

Names that are not listed here get a label built from the field name; the unit is shown in the label
("Weight (kg)") so a value is never typed in the wrong unit.
"""

from __future__ import annotations

#: field name → (label, unit or "", help text or "")
FIELDS: dict[str, tuple[str, str, str]] = {
    # F1
    "registration_date": ("Registration date", "", "Date the patient was registered in the study."),
    "consent_obtained": ("Consent obtained", "", ""),
    "consent_date": ("Consent date", "", "Required when consent was obtained."),
    "age_at_registration_ge_18": ("Aged 18 or over at registration", "", ""),
    "histological_confirmation": ("Histologically confirmed NEN", "", ""),
    "ki67_gt_20_or_mitoses_gt_20": ("Ki-67 > 20 % or mitoses > 20 per 2 mm²", "", "High-grade NEN definition."),
    "digestive_primary_or_gi_cup": ("Digestive primary, or unknown primary with GI metastases", "", ""),
    "ineligibility_reason": ("Reason not eligible", "", "Required when any inclusion criterion is No."),
    "date_of_diagnosis": ("Date of diagnosis", "", "Date of the first diagnostic biopsy or histology."),
    "registration_timing": ("Registration timing", "", ""),
    # F2
    "sex": ("Sex", "", ""),
    "date_of_birth": ("Date of birth", "", "Year precision is enough: the analyses need only the age."),
    "ecog_ps": ("ECOG/WHO performance status", "", "At diagnosis / before first-line treatment."),
    "ps_assessment_date": ("Performance status assessed on", "", "Within 14 days of the reference date."),
    "ps_source": ("Performance status source", "", "Convert a Karnofsky score to ECOG."),
    "weight_kg": ("Weight", "kg", "25–250 kg."),
    "height_cm": ("Height", "cm", "120–220 cm."),
    "charlson_comorbidity_index": ("Charlson comorbidity index", "", "0–37."),
    "functional_syndrome": ("Functional syndrome", "", ""),
    "hereditary_syndrome": ("Hereditary syndrome", "", ""),
    "prior_other_malignancy": ("Prior other malignancy", "", ""),
    "prior_other_malignancy_details": ("Prior malignancy details", "", ""),
    # F3
    "primary_site": ("Primary tumour site", "", ""),
    "icd10_topography": ("ICD-10 topography", "", "e.g. C25.1"),
    "icdo3_topography": ("ICD-O-3 topography", "", "e.g. C25.1"),
    "disease_extent_at_diagnosis": ("Disease extent at diagnosis", "", ""),
    "advanced_disease_date": ("Advanced disease established on", "",
                              "Synchronous: the diagnosis date; metachronous: the recurrence date."),
    "metastatic_sites": ("Metastatic sites", "", "Tick every organ involved (required for metastatic disease)."),
    "liver_tumour_burden": ("Liver tumour burden", "", "Share of the liver replaced by tumour."),
    "tnm_t": ("TNM T", "", ""), "tnm_n": ("TNM N", "", ""), "tnm_m": ("TNM M", "", ""),
    "tnm_edition": ("TNM edition", "", "e.g. UICC 8"),
    "stage_group": ("Stage group", "", ""),
    "resection_of_primary": ("Resection of the primary", "", ""),
    "imaging_ssrt_pet_result": ("SSTR PET result", "", ""),
    "imaging_fdg_pet_result": ("FDG PET result", "", ""),
    # F4
    "specimen_date": ("Specimen date", "", ""),
    "is_diagnostic": ("Diagnostic specimen", "", "The specimen the date of diagnosis rests on."),
    "specimen_site": ("Specimen site", "", ""),
    "specimen_type": ("Specimen type", "", ""),
    "classification_edition": ("WHO classification edition", "", ""),
    "local_diagnosis": ("Local diagnosis", "", ""),
    "differentiation": ("Differentiation", "", ""),
    "cell_type": ("Cell type", "", ""),
    "ki67_percent": ("Ki-67", "%", "Hot-spot index, 0–100 %. Required unless cytology only."),
    "ki67_cells_counted": ("Ki-67 cells counted", "cells", "100–10,000."),
    "ki67_method": ("Ki-67 method", "", ""),
    "mitoses_per_2mm2": ("Mitoses", "per 2 mm²", "0–500."),
    "chromogranin_a_ihc": ("Chromogranin A (IHC)", "", ""),
    "synaptophysin_ihc": ("Synaptophysin (IHC)", "", ""),
    "p53_ihc": ("p53 (IHC)", "", ""), "rb1_ihc": ("Rb1 (IHC)", "", ""), "sstr2_ihc": ("SSTR2 (IHC)", "", ""),
    "mmr_msi_status": ("MMR / MSI status", "", ""),
    "minen_nonNE_component": ("MiNEN non-neuroendocrine component", "", "Only for MiNEN."),
    "minen_nonNE_percent": ("MiNEN non-neuroendocrine share", "%", "30–70 %."),
    "report_text": ("Pathology report (text)", "", "Pseudonymised: no names or national ids."),
    # F5
    "timepoint": ("Timepoint", "", ""),
    "analyte": ("Analyte", "", ""),
    "sample_date": ("Sample date", "", ""),
    "value": ("Value", "", "In the unit below, as the laboratory reported it."),
    "unit": ("Unit", "", "As reported, e.g. U/L, µkat/L, g/L, ×10⁹/L."),
    "lln": ("Lower limit of normal (LLN)", "", "The local laboratory's limit, same unit."),
    "uln": ("Upper limit of normal (ULN)", "", "The local laboratory's limit, same unit."),
    "post_mortem": ("Taken after death", "", ""),
    "assay_name": ("Assay name", "", "Required for chromogranin A (values are assay specific)."),
    # F6
    "line_number": ("Line number", "", "1 for the first palliative line, 2 for the next, …"),
    "intent": ("Intent", "", ""),
    "regimen": ("Regimen", "", ""),
    "regimen_other_text": ("Other regimen", "", "Required when the regimen is Other."),
    "backbone_regimen": ("Chemotherapy backbone", "", "For chemotherapy + bevacizumab only."),
    "etoposide_route": ("Etoposide route", "", ""),
    "start_date": ("Start date", "", "First day of the first cycle."),
    "end_date": ("End date", "", "Leave empty while the line is ongoing."),
    "n_cycles": ("Number of cycles", "cycles", "1–50."),
    "dose_reduced": ("Dose reduced", "", ""),
    "reason_stopped": ("Reason stopped", "", "Required once the line has an end date."),
    "baseline_target_sum_mm": ("Baseline sum of target lesions", "mm", "RECIST sum on the scan before the line."),
    "ecog_ps_at_start": ("ECOG performance status at start", "", ""),
    "clinical_progression": ("Clinical progression (no PD scan)", "", ""),
    "clinical_progression_date": ("Clinical progression date", "", ""),
    "type": ("Treatment type", "", ""),
    "date": ("Date", "", ""),
    "details": ("Details", "", ""),
    "received_palliative_systemic": ("Received palliative systemic treatment", "", ""),
    "reason_no_treatment": ("Reason for no treatment", "", ""),
    "reason_no_treatment_other": ("Other reason", "", ""),
    # F7
    "line": ("Treatment line", "", ""),
    "eval_date": ("Evaluation date", "", "Date of the scan; after the line's start date."),
    "method": ("Method", "", ""),
    "criteria": ("Response criteria", "", ""),
    "target_sum_mm": ("Sum of target lesions", "mm", "0–1,000 mm."),
    "new_lesions": ("New lesions", "", ""),
    "overall_response": ("Overall response", "", ""),
    "progression_type": ("Progression type", "", "Required for PD."),
    "confirmed": ("Response confirmed", "", "Confirmation scan ≥ 4 weeks later."),
    # F8
    "visit_date": ("Visit date", "", ""),
    "vital_status": ("Vital status", "", ""),
    "date_last_known_alive": ("Date last known alive", "", "Required for a living patient."),
    "date_of_death": ("Date of death", "", "Only when the patient has died."),
    "cause_of_death": ("Cause of death", "", ""),
    "ps_at_visit": ("ECOG performance status at visit", "", ""),
    "source_of_vital_status": ("Source of vital status", "", ""),
}


def label_for(name: str) -> str:
    """The field's label with its unit, e.g. "Weight (kg)"."""
    label, unit, _ = FIELDS.get(name, (name.replace("_", " ").capitalize(), "", ""))
    return f"{label} ({unit})" if unit else label


def help_for(name: str, default: str = "") -> str:
    """One line of help for the field (the model's help text when nothing better is written here)."""
    entry = FIELDS.get(name)
    return (entry[2] if entry and entry[2] else default) or ""


def unit_for(name: str) -> str:
    entry = FIELDS.get(name)
    return entry[1] if entry else ""
