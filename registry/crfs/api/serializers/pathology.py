"""F4 — Local pathology (central review has its own API under /api/v1/pathology/)."""

from registry.crfs.api.serializers.common import form_serializers
from registry.crfs.catalogue import family

LocalPathologyInput, LocalPathologyOutput = form_serializers(family("pathology"), __name__)
