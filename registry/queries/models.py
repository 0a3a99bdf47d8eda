"""Data quality: queries on form fields with their threads, field-level source data verification, data
freezes (patient locks and site freezes) and casebook e-signatures (21 CFR Part 11 §11.50/§11.70).

A query or a verification points at a form instance by catalogue family code + primary key (the same
addressing as `EditCheckFinding`), so it survives without a generic foreign key across ten form tables.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from registry.audit.tracking import audited
from registry.core.models import TimeStampedModel
from registry.sites.scoping import scoped_queryset_class


class QueryStatus(models.TextChoices):
    OPEN = "open", "Open"
    ANSWERED = "answered", "Answered"
    CLOSED = "closed", "Closed"


class QueryOrigin(models.TextChoices):
    AUTO = "auto", "Automatic (edit check)"
    MANUAL = "manual", "Manual"


class ResponseReason(models.TextChoices):
    """Structured answer categories (REDCap DRW "response categories"; OpenClinica resolution types)."""

    CORRECTED = "corrected", "Value corrected"
    CONFIRMED_AS_IS = "confirmed_as_is", "Value confirmed as is (source says so)"
    NOT_AVAILABLE = "not_available", "Value not available in the source"


class MessageKind(models.TextChoices):
    QUESTION = "question", "Question"
    ANSWER = "answer", "Answer"
    COMMENT = "comment", "Comment"
    CLOSE = "close", "Closed"
    REOPEN = "reopen", "Reopened"
    SYSTEM = "system", "System"


@audited()
class DataQuery(TimeStampedModel):
    """A question about one field (or a whole form) of one patient's form instance."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="data_queries")
    form_family = models.CharField(max_length=32, help_text="Catalogue code of the form family.")
    object_id = models.BigIntegerField(null=True, blank=True,
                                       help_text="The form instance; empty for a one-per-patient form whose "
                                                 "edit check does not name a row.")
    field = models.CharField(max_length=64, blank=True, help_text="Empty: the query is about the whole form.")
    origin = models.CharField(max_length=6, choices=QueryOrigin.choices)
    rule = models.CharField(max_length=16, blank=True, help_text="Edit-check id of an automatic query (EC01…).")
    status = models.CharField(max_length=8, choices=QueryStatus.choices, default=QueryStatus.OPEN)
    text = models.TextField(help_text="The question as first raised.")
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                  null=True, blank=True, help_text="Empty for automatic queries.")
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    null=True, blank=True)
    response_reason = models.CharField(max_length=16, choices=ResponseReason.choices, blank=True)
    first_answered_at = models.DateTimeField(null=True, blank=True,
                                             help_text="When the site first answered (time-to-answer metric).")
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                  null=True, blank=True, help_text="Empty when the system closed it (value fixed).")
    reopen_count = models.PositiveIntegerField(default=0)
    finding_active = models.BooleanField(
        default=True, help_text="Automatic queries: whether the edit check still fires. A closed query whose "
                                "check stops firing and then fires again is a regression and reopens.")

    objects = scoped_queryset_class("patient__site").as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "data query"
        verbose_name_plural = "data queries"
        constraints = [
            # One automatic query per edit-check hit; a regression reopens it instead of adding another.
            models.UniqueConstraint(fields=["patient", "form_family", "object_id", "rule", "field"],
                                    condition=Q(origin="auto"), name="dataquery_one_auto_per_finding",
                                    nulls_distinct=False),
            models.CheckConstraint(condition=Q(origin="manual") | ~Q(rule=""), name="dataquery_auto_has_rule"),
            models.CheckConstraint(condition=Q(origin="auto") | Q(raised_by__isnull=False),
                                   name="dataquery_manual_has_author"),
            models.CheckConstraint(condition=~Q(status="closed") | Q(closed_at__isnull=False),
                                   name="dataquery_closed_has_time"),
        ]
        indexes = [models.Index(fields=["status", "created_at"]),
                   models.Index(fields=["form_family", "object_id"])]

    def __str__(self) -> str:
        target = f"{self.form_family}#{self.object_id or '-'}" + (f".{self.field}" if self.field else "")
        return f"Q{self.pk} {self.patient_id} {target} ({self.status})"

    @property
    def is_auto(self) -> bool:
        return self.origin == QueryOrigin.AUTO


@audited()
class QueryMessage(TimeStampedModel):
    """One entry of a query's thread: the question, answers, comments and every status change."""

    query = models.ForeignKey(DataQuery, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True,
                               blank=True, help_text="Empty for messages written by the system.")
    kind = models.CharField(max_length=8, choices=MessageKind.choices)
    text = models.TextField(blank=True)
    response_reason = models.CharField(max_length=16, choices=ResponseReason.choices, blank=True)

    objects = scoped_queryset_class("query__patient__site").as_manager()

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} on Q{self.query_id}"


@audited()
class FieldVerification(TimeStampedModel):
    """A monitor compared one field's value with the source documents (item-level SDV). Changing the value
    afterwards un-verifies it: the row stays, with `unverified_at`, so the history shows what was verified."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="field_verifications")
    form_family = models.CharField(max_length=32)
    object_id = models.BigIntegerField()
    field = models.CharField(max_length=64)
    value_snapshot = models.TextField(blank=True, help_text="The value as verified (canonical text form).")
    form_version = models.PositiveIntegerField(help_text="The form's version when it was verified.")
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    verified_at = models.DateTimeField()
    unverified_at = models.DateTimeField(null=True, blank=True)
    unverified_reason = models.CharField(max_length=200, blank=True)

    objects = scoped_queryset_class("patient__site").as_manager()

    class Meta:
        ordering = ["form_family", "object_id", "field", "-verified_at"]
        constraints = [
            models.UniqueConstraint(fields=["form_family", "object_id", "field"],
                                    condition=Q(unverified_at__isnull=True), name="fieldverification_one_current"),
        ]
        indexes = [models.Index(fields=["form_family", "object_id"])]

    def __str__(self) -> str:
        return f"SDV {self.form_family}#{self.object_id}.{self.field}"

    @property
    def is_current(self) -> bool:
        return self.unverified_at is None


class FreezeScope(models.TextChoices):
    PATIENT = "patient", "Patient"
    SITE = "site", "Site"


@audited()
class DataFreeze(TimeStampedModel):
    """A data manager locked every form of a patient, or of a whole site (data freeze for an analysis
    cut-off); releasing it unlocks those forms and needs a reason."""

    scope = models.CharField(max_length=7, choices=FreezeScope.choices)
    site = models.ForeignKey("sites.Site", on_delete=models.PROTECT, related_name="data_freezes")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="data_freezes",
                                null=True, blank=True)
    reason = models.TextField()
    locked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    forms_locked = models.PositiveIntegerField(default=0)
    drafts_skipped = models.PositiveIntegerField(
        default=0, help_text="Draft forms cannot be locked (not yet submitted); they are reported, not frozen.")
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    null=True, blank=True)
    release_reason = models.TextField(blank=True)
    forms_unlocked = models.PositiveIntegerField(default=0)

    objects = scoped_queryset_class("site").as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(scope="site", patient__isnull=True)
                                   | Q(scope="patient", patient__isnull=False), name="datafreeze_scope_target"),
            models.CheckConstraint(condition=Q(released_at__isnull=True) | ~Q(release_reason=""),
                                   name="datafreeze_release_has_reason"),
            models.UniqueConstraint(fields=["scope", "site", "patient"], condition=Q(released_at__isnull=True),
                                    name="datafreeze_one_active", nulls_distinct=False),
        ]

    def __str__(self) -> str:
        target = self.patient_id if self.scope == FreezeScope.PATIENT else self.site_id
        return f"{self.scope} freeze {target}"

    @property
    def is_active(self) -> bool:
        return self.released_at is None


#: The meaning stated with every casebook signature (§11.50(a)(3)); shown before signing and stored with it.
APPROVAL_MEANING = "I approve the data in this casebook as complete and accurate."


@audited()
class CasebookSignature(TimeStampedModel):
    """A site investigator's electronic signature of a patient's casebook (21 CFR Part 11 §11.50, §11.70).

    The signature carries the signer's printed name, the time and the meaning, and is linked to the signed
    content by its SHA-256: any later change to the casebook voids it (visibly, never by deletion)."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="casebook_signatures")
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signer_name = models.CharField(max_length=300, help_text="Printed name of the signer at signing (§11.50).")
    meaning = models.TextField()
    signed_at = models.DateTimeField()
    content_hash = models.CharField(max_length=64, help_text="SHA-256 of the casebook's data at signing.")
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                  null=True, blank=True, help_text="Who made the change that voided it.")
    voided_by_change = models.CharField(max_length=300, blank=True,
                                        help_text="The change that voided the signature (form, id, fields).")

    objects = scoped_queryset_class("patient__site").as_manager()

    class Meta:
        ordering = ["-signed_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(voided_at__isnull=True) | ~Q(voided_by_change=""),
                                   name="casebooksignature_void_names_change"),
        ]

    def __str__(self) -> str:
        return f"signature {self.patient_id} by {self.signer_name}"

    @property
    def is_valid(self) -> bool:
        return self.voided_at is None
