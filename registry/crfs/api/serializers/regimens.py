"""The regimen code list (F6) with its drug components."""

from rest_framework import serializers

from registry.crfs.api.fields import CodeOutputField
from registry.crfs.models import Drug, Regimen


class DrugOutput(serializers.ModelSerializer):
    serializer_choice_field = CodeOutputField

    class Meta:
        model = Drug
        fields = ["code", "name", "atc_code", "is_platinum", "platinum_agent", "is_cytotoxic"]
        read_only_fields = fields


class RegimenOutput(serializers.ModelSerializer):
    drugs = DrugOutput(many=True, read_only=True)

    class Meta:
        model = Regimen
        fields = ["id", "code", "label", "is_active", "drugs"]
        read_only_fields = fields
