"""F2 — Demographics and baseline status."""

from registry.crfs.api.serializers.common import form_serializers
from registry.crfs.catalogue import family

BaselineInput, BaselineOutput = form_serializers(family("baseline"), __name__)
