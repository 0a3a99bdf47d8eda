"""Input and output serializers of the pathology API (separate classes, DESIGN.md §3.2).

Blinding: the case outputs are built from `selectors.case_view`, whose `local` block and reads are None
for a blinded reviewer; the output then omits the keys entirely (not just their values).
"""

from __future__ import annotations

from rest_framework import serializers

from registry.pathology.models import (
    CaseStatus,
    CellType,
    CentralDiagnosis,
    CentralDifferentiation,
    CentralReview,
    FinalClassification,
    FinalDiagnosis,
    IhcResult,
    Material,
    MorphologyFinding,
    Necrosis,
    Notification,
    P53Result,
    Priority,
    Rb1Result,
    Shipment,
    ShipmentItem,
)


class CaseListOutput(serializers.Serializer):
    """A queue row: no local values, no central reads."""

    id = serializers.IntegerField(source="case.pk")
    study_id = serializers.CharField(source="case.patient.study_id")
    site = serializers.CharField(source="case.patient.site.code")
    specimen_site = serializers.CharField(source="case.specimen.specimen_site")
    specimen_type = serializers.CharField(source="case.specimen.specimen_type")
    specimen_date = serializers.DateField(source="case.specimen.specimen_date")
    status = serializers.CharField(source="case.status")
    priority = serializers.IntegerField(source="case.priority")
    assigned_to = serializers.CharField(source="case.assigned_to.username", default=None, allow_null=True)
    assigned_to_me = serializers.BooleanField()
    my_read_submitted = serializers.BooleanField(source="case.my_read")
    opened_at = serializers.DateTimeField(source="case.opened_at")
    material_received_at = serializers.DateTimeField(source="case.material_received_at")
    age_days = serializers.IntegerField()
    turnaround_days = serializers.IntegerField(allow_null=True)
    overdue = serializers.BooleanField()
    final_diagnosis = serializers.SerializerMethodField()

    def get_final_diagnosis(self, row) -> str | None:
        # Final is final for everyone: no read is pending on a final case.
        if row.case.status != CaseStatus.FINAL:
            return None
        final = getattr(row.case, "final_classification", None)
        return final.final_diagnosis if final else None


class ShipmentItemOutput(serializers.ModelSerializer):
    class Meta:
        model = ShipmentItem
        fields = ["material", "quantity"]


class ShipmentOutput(serializers.ModelSerializer):
    items = ShipmentItemOutput(many=True, read_only=True)
    study_id = serializers.CharField(source="specimen.patient.study_id", read_only=True)

    class Meta:
        model = Shipment
        fields = ["id", "specimen", "study_id", "shipped_on", "courier_reference", "received_on",
                  "condition_on_receipt", "blocks_return_due", "blocks_returned_on", "return_courier_reference",
                  "comment", "items"]


class ReviewOutput(serializers.ModelSerializer):
    reviewer = serializers.CharField(source="reviewer.username")

    class Meta:
        model = CentralReview
        fields = ["id", "case", "read_number", "reviewer", "review_date", "submitted_at", "material_received",
                  "blinded_to_local_diagnosis", "blinded_to_outcome", "adequate_material", "central_diagnosis",
                  "differentiation", "cell_type", "morph_organoid_pattern", "morph_capillary_network_contact",
                  "morph_desmoplastic_stroma", "morph_necrosis", "ki67_central_percent",
                  "ki67_central_cells_counted", "mitoses_per_2mm2", "p53_ihc", "rb1_ihc", "sstr2_ihc", "comment"]


class FinalOutput(serializers.ModelSerializer):
    analysis_group = serializers.SerializerMethodField()

    class Meta:
        model = FinalClassification
        fields = ["final_diagnosis", "final_ki67", "ki67_source", "method", "discordant_with_local", "decided_at",
                  "analysis_group"]

    def get_analysis_group(self, obj) -> str | None:
        from registry.pathology.selectors import analysis_group

        return analysis_group(obj)


def case_detail_data(view) -> dict:
    """The JSON of one case for the reader `view` was built for (keys of hidden parts are left out)."""
    case = view.case
    data = {
        "id": case.pk,
        "study_id": case.patient.study_id,
        "site": case.patient.site.code,
        "status": case.status,
        "priority": case.priority,
        "assigned_to": case.assigned_to.username if case.assigned_to_id else None,
        "opened_at": serializers.DateTimeField().to_representation(case.opened_at),
        "material_received_at": serializers.DateTimeField().to_representation(case.material_received_at)
        if case.material_received_at else None,
        "blinded": view.blinded,
        "specimen": {"id": case.specimen_id, "specimen_site": case.specimen.specimen_site,
                     "specimen_type": case.specimen.specimen_type,
                     "specimen_date": str(case.specimen.specimen_date) if case.specimen.specimen_date else None},
        "clinical_context": {"primary_site": view.context.primary_site, "sex": view.context.sex,
                             "age_years": view.context.age_years},
        "material_received": view.material_received,
        "shipments": ShipmentOutput(view.shipments, many=True).data,
    }
    if view.my_review is not None:
        data["my_review"] = ReviewOutput(view.my_review).data
    if view.blinded:
        return data
    data["local"] = {
        "local_diagnosis": view.local.local_diagnosis,
        "local_ki67": str(view.local.local_ki67) if view.local.local_ki67 is not None else None,
        "local_differentiation": view.local.local_differentiation,
        "local_cell_type": view.local.local_cell_type,
    }
    data["discordant_with_local"] = case.discordant_with_local
    data["discordance_reasons"] = list(case.discordance_reasons)
    data["reviews"] = ReviewOutput(view.reviews, many=True).data
    if view.adjudication is not None:
        adj = view.adjudication
        data["adjudication"] = {"decided_on": str(adj.decided_on), "final_diagnosis": adj.final_diagnosis,
                                "final_ki67": str(adj.final_ki67) if adj.final_ki67 is not None else None,
                                "rationale": adj.rationale,
                                "participants": sorted(u.username for u in adj.participants.all())}
    if view.final is not None:
        data["final"] = FinalOutput(view.final).data
    return data


class ReviewInput(serializers.Serializer):
    review_date = serializers.DateField(required=False)
    material_received = serializers.ListField(child=serializers.ChoiceField(choices=Material.choices),
                                              required=False)
    blinded_to_local_diagnosis = serializers.BooleanField(default=True)
    blinded_to_outcome = serializers.BooleanField(default=True)
    adequate_material = serializers.BooleanField()
    central_diagnosis = serializers.ChoiceField(choices=CentralDiagnosis.choices, required=False, allow_blank=True)
    differentiation = serializers.ChoiceField(choices=CentralDifferentiation.choices, required=False,
                                              allow_blank=True)
    cell_type = serializers.ChoiceField(choices=CellType.choices, required=False, allow_blank=True)
    morph_organoid_pattern = serializers.ChoiceField(choices=MorphologyFinding.choices, required=False,
                                                     allow_blank=True)
    morph_capillary_network_contact = serializers.ChoiceField(choices=MorphologyFinding.choices, required=False,
                                                              allow_blank=True)
    morph_desmoplastic_stroma = serializers.ChoiceField(choices=MorphologyFinding.choices, required=False,
                                                        allow_blank=True)
    morph_necrosis = serializers.ChoiceField(choices=Necrosis.choices, required=False, allow_blank=True)
    ki67_central_percent = serializers.DecimalField(max_digits=4, decimal_places=1, min_value=0, max_value=100,
                                                    required=False, allow_null=True)
    ki67_central_cells_counted = serializers.IntegerField(min_value=500, required=False, allow_null=True)
    mitoses_per_2mm2 = serializers.DecimalField(max_digits=5, decimal_places=1, min_value=0, max_value=500,
                                                required=False, allow_null=True)
    p53_ihc = serializers.ChoiceField(choices=P53Result.choices, required=False, allow_blank=True)
    rb1_ihc = serializers.ChoiceField(choices=Rb1Result.choices, required=False, allow_blank=True)
    sstr2_ihc = serializers.ChoiceField(choices=IhcResult.choices, required=False, allow_blank=True)
    comment = serializers.CharField(required=False, allow_blank=True)


class AssignInput(serializers.Serializer):
    reviewer = serializers.IntegerField()


class PriorityInput(serializers.Serializer):
    priority = serializers.ChoiceField(choices=Priority.choices)


class AdjudicationInput(serializers.Serializer):
    participants = serializers.ListField(child=serializers.IntegerField(), allow_empty=False)
    final_diagnosis = serializers.ChoiceField(choices=FinalDiagnosis.choices)
    final_ki67 = serializers.DecimalField(max_digits=4, decimal_places=1, min_value=0, max_value=100,
                                          required=False, allow_null=True)
    rationale = serializers.CharField()
    decided_on = serializers.DateField(required=False)


class ShipmentItemInput(serializers.Serializer):
    material = serializers.ChoiceField(choices=Material.choices)
    quantity = serializers.IntegerField(min_value=1, max_value=100, default=1)


class ShipmentInput(serializers.Serializer):
    specimen = serializers.IntegerField()
    shipped_on = serializers.DateField()
    courier_reference = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    blocks_return_due = serializers.DateField(required=False, allow_null=True)
    comment = serializers.CharField(required=False, allow_blank=True, default="")
    items = ShipmentItemInput(many=True, allow_empty=False)


class ReceiveInput(serializers.Serializer):
    received_on = serializers.DateField()
    condition_on_receipt = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")


class ReturnBlocksInput(serializers.Serializer):
    returned_on = serializers.DateField()
    courier_reference = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")


class OutstandingOutput(serializers.Serializer):
    case = serializers.IntegerField(source="case.pk")
    study_id = serializers.CharField(source="case.patient.study_id")
    site = serializers.CharField(source="case.patient.site.code")
    specimen = serializers.IntegerField(source="case.specimen_id")
    status = serializers.CharField(source="case.status")
    missing = serializers.ListField(child=serializers.CharField())
    in_transit = ShipmentOutput(many=True)
    blocks_out = ShipmentOutput(many=True)


class NotificationOutput(serializers.ModelSerializer):
    site = serializers.CharField(source="site.code")
    study_id = serializers.CharField(source="patient.study_id", default=None, allow_null=True)

    class Meta:
        model = Notification
        fields = ["id", "site", "study_id", "subject", "body", "created_at", "read_at"]


class HistoryOutput(serializers.Serializer):
    at = serializers.DateTimeField()
    record = serializers.CharField()
    record_id = serializers.IntegerField()
    action = serializers.CharField()
    user = serializers.CharField()
    reason = serializers.CharField()
    values = serializers.DictField()

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["values"] = {k: (v if isinstance(v, bool | int | list) or v is None else str(v))
                          for k, v in instance.values.items()}
        return data
