"""F7 — Response evaluations, nested under their treatment line (`line` comes from the URL)."""

from registry.crfs.api.serializers.common import form_serializers
from registry.crfs.catalogue import family

ResponseEvaluationInput, ResponseEvaluationOutput = form_serializers(family("response"), __name__)
