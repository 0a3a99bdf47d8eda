"""REDCap data dictionary CSV: the 18 columns, exactly, in REDCap's order (domain/INTEROP.md §3.1)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from typing import TextIO

#: The header REDCap's Data Dictionary upload expects, columns A–R.
HEADER: tuple[str, ...] = (
    "Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label",
    "Choices, Calculations, OR Slider Labels", "Field Note", "Text Validation Type OR Show Slider Number",
    "Text Validation Min", "Text Validation Max", "Identifier?", "Branching Logic (Show field only if...)",
    "Required Field?", "Custom Alignment", "Question Number (surveys only)", "Matrix Group Name",
    "Matrix Ranking?", "Field Annotation",
)
#: The same columns as keys of the metadata API (`content=metadata`).
KEYS: tuple[str, ...] = (
    "field_name", "form_name", "section_header", "field_type", "field_label", "select_choices_or_calculations",
    "field_note", "text_validation_type_or_show_slider_number", "text_validation_min", "text_validation_max",
    "identifier", "branching_logic", "required_field", "custom_alignment", "question_number",
    "matrix_group_name", "matrix_ranking", "field_annotation",
)
FIELD_TYPES = frozenset({"text", "notes", "dropdown", "radio", "checkbox", "calc", "file", "descriptive",
                         "slider", "yesno", "truefalse", "sql"})


def choices_string(choices: Iterable[tuple[object, str]]) -> str:
    """REDCap's `code, label | code, label` notation."""
    return " | ".join(f"{code}, {label}" for code, label in choices)


def write_data_dictionary(out: TextIO, rows: Iterable[Mapping[str, str]]) -> int:
    """Write the dictionary (rows keyed by the metadata API's snake_case keys); returns the field count."""
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(HEADER)
    n = 0
    for row in rows:
        if row["field_type"] not in FIELD_TYPES:
            raise ValueError(f"{row['field_name']}: {row['field_type']!r} is not a REDCap field type")
        writer.writerow([row.get(k, "") or "" for k in KEYS])
        n += 1
    return n
