"""F5 — Laboratory values. `line` (the treatment line a sample is the baseline for) is chosen among the
patient's own lines only, so another patient's or site's line id is "not found", never attachable."""

from rest_framework import serializers

from registry.crfs.api.serializers.common import form_serializers
from registry.crfs.catalogue import family
from registry.crfs.models import TreatmentLine


class PatientLineField(serializers.PrimaryKeyRelatedField):
    """A treatment line of the patient in the serializer context (`patient`)."""

    def get_queryset(self):
        patient = self.context.get("patient")
        if patient is None:
            return TreatmentLine.objects.none()
        return TreatmentLine.objects.filter(patient_id=patient.pk)


LabResultInput, LabResultOutput = form_serializers(family("labs"), __name__, input_fields={
    "line": PatientLineField(required=False, allow_null=True,
                             help_text="The patient's treatment line this sample is the baseline for."),
})
