"""F6 — Treatment lines, other treatments and the systemic treatment status. Regimens are given and shown by
their DOMAIN.md code (see GET /api/v1/regimens/)."""

from rest_framework import serializers

from registry.crfs.api.serializers.common import form_serializers
from registry.crfs.catalogue import family
from registry.crfs.models import Regimen


def _regimen_input(help_text: str) -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(slug_field="code", queryset=Regimen.objects.all(), required=False,
                                        allow_null=True, help_text=help_text)


def _regimen_output() -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)


TreatmentLineInput, TreatmentLineOutput = form_serializers(
    family("treatment"), __name__,
    input_fields={
        "regimen": _regimen_input("Regimen code, e.g. carbo_etop."),
        "backbone_regimen": _regimen_input("For chemotherapy + bevacizumab: the chemotherapy backbone's code."),
    },
    output_fields={"regimen": _regimen_output(), "backbone_regimen": _regimen_output()},
)
OtherTreatmentInput, OtherTreatmentOutput = form_serializers(family("other_treatment"), __name__)
SystemicTreatmentStatusInput, SystemicTreatmentStatusOutput = form_serializers(family("treatment_status"),
                                                                               __name__)
