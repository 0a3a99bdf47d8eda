"""F1 — Enrolment and eligibility (created with the patient by POST /patients/)."""

from registry.crfs.api.serializers.common import form_serializers
from registry.crfs.catalogue import family

EnrolmentInput, EnrolmentOutput = form_serializers(family("enrolment"), __name__)
