"""F8 — Follow-up visits and vital status."""

from registry.crfs.api.serializers.common import form_serializers
from registry.crfs.catalogue import family

FollowUpInput, FollowUpOutput = form_serializers(family("followup"), __name__)
