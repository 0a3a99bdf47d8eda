"""F3 — Tumour and staging."""

from registry.crfs.api.serializers.common import form_serializers
from registry.crfs.catalogue import family

TumourStagingInput, TumourStagingOutput = form_serializers(family("tumour"), __name__)
