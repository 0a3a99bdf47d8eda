"""What every case report form shares: patient, workflow status, version for optimistic locking, and the
conventions for partial dates and missing values (DESIGN.md §4, DOMAIN.md §4 conventions)."""

from __future__ import annotations

from contextvars import ContextVar
from typing import ClassVar

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q

from registry.core.models import TimeStampedModel
from registry.sites.scoping import scoped_queryset_class


class FormStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    VERIFIED = "verified", "Verified (SDV)"
    LOCKED = "locked", "Locked"


class MissingReason(models.TextChoices):
    NOT_DONE = "not_done", "Not done"
    UNKNOWN = "unknown", "Unknown"
    NOT_APPLICABLE = "not_applicable", "Not applicable"
    NOT_ASKED = "not_asked", "Not asked"


class DatePrecision(models.TextChoices):
    DAY = "day", "Day"
    MONTH = "month", "Month (day unknown)"
    YEAR = "year", "Year (month and day unknown)"


class YesNo(models.TextChoices):
    YES = "yes", "Yes"
    NO = "no", "No"


def precision_field() -> models.CharField:
    """The `<date>_precision` companion of a date that may be partial."""
    return models.CharField(max_length=5, choices=DatePrecision.choices, default=DatePrecision.DAY)


def missing_reason_field() -> models.CharField:
    """The `<field>_missing_reason` companion: why a value is empty (never an in-band number)."""
    return models.CharField(max_length=16, choices=MissingReason.choices, blank=True, default="")


def partial_date_constraint(prefix: str, field: str) -> models.CheckConstraint:
    """A partial date is stored as the first day of its month or year, so equal dates compare equal."""
    precision = f"{field}_precision"
    return models.CheckConstraint(
        condition=Q(**{f"{field}__isnull": True})
        | Q(**{precision: DatePrecision.DAY})
        | Q(**{precision: DatePrecision.MONTH, f"{field}__day": 1})
        | Q(**{precision: DatePrecision.YEAR, f"{field}__day": 1, f"{field}__month": 1}),
        name=f"{prefix}_{field}_partial_date_normalised",
    )


def missing_reason_constraint(prefix: str, field: str) -> models.CheckConstraint:
    """A value and a reason for its absence are mutually exclusive."""
    return models.CheckConstraint(
        condition=Q(**{f"{field}__isnull": True}) | Q(**{f"{field}_missing_reason": ""}),
        name=f"{prefix}_{field}_value_or_missing_reason",
        violation_error_message=f"Give either {field} or a reason it is missing, not both.",
    )


def to_verify_index(name: str) -> models.Index:
    """The monitors' SDV work list reads submitted forms oldest first, 200 at a time: a partial index in that
    order lets it stop after the first page instead of sorting the whole table (bench/plans.py, 100,000
    patients)."""
    return models.Index(fields=["submitted_at", "id"], condition=Q(status="submitted"), name=name)


def form_constraints(prefix: str, model_partial_dates: tuple[str, ...],
                     model_missing: tuple[str, ...]) -> list[models.BaseConstraint]:
    """The partial-date and missing-reason constraints for a form's declared fields."""
    return [partial_date_constraint(prefix, f) for f in model_partial_dates] + [
        missing_reason_constraint(prefix, f) for f in model_missing
    ]


#: Set while a bulk write stores counts it already filled, so the `update()` it issues is not refreshed twice.
_COUNTS_FILLED: ContextVar[bool] = ContextVar("completeness_counts_filled", default=False)


class FormQuerySet(scoped_queryset_class("patient__site")):
    """Bulk writes and `update()` skip `save()`, so they refresh the stored completeness counts themselves."""

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        fill_completeness(objs)
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs, fields, *args, **kwargs):
        objs = list(objs)
        fill_completeness(objs)
        fields = [*fields, *(f for f in COMPLETENESS_FIELDS if f not in fields)]
        token = _COUNTS_FILLED.set(True)
        try:
            return super().bulk_update(objs, fields, *args, **kwargs)
        finally:
            _COUNTS_FILLED.reset(token)

    def update(self, **kwargs):
        """A data-field change (e.g. a correction in the shell) re-reads the rows it touched and stores their
        counts; workflow-only updates (status, locks) cannot change completeness and skip that."""
        names = {self.model._meta.get_field(k).name for k in kwargs}
        if _COUNTS_FILLED.get() or names <= self.model.workflow_fields():
            return super().update(**kwargs)
        with transaction.atomic(using=self.db):
            pks = list(self.order_by().values_list("pk", flat=True))
            count = super().update(**kwargs)
            for start in range(0, len(pks), 2000):
                forms = list(self.model._base_manager.using(self.db).filter(pk__in=pks[start:start + 2000]))
                self.model.objects.using(self.db).bulk_update(forms, list(COMPLETENESS_FIELDS))
        return count


#: Stored on every form row so the quality dashboard sums them in SQL instead of loading every form.
COMPLETENESS_FIELDS = ("required_count", "required_filled")


def fill_completeness(forms) -> None:
    """Set each form's stored completeness counts from its current values (call before any write that
    bypasses `save()`: bulk_create, bulk_update, COPY)."""
    for form in forms:
        form.required_count, form.required_filled = form.completeness_counts()


class CaseReportForm(TimeStampedModel):
    """One instance of a form family for one patient: draft → submitted → verified → locked."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="%(class)s_forms")
    status = models.CharField(max_length=10, choices=FormStatus.choices, default=FormStatus.DRAFT)
    version = models.PositiveIntegerField(default=1, editable=False,
                                          help_text="Incremented on every change; clients send it back "
                                                    "(If-Match) so a concurrent edit is refused, not lost.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   null=True, editable=False)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   null=True, editable=False)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     null=True, blank=True, editable=False)
    submitted_at = models.DateTimeField(null=True, blank=True, editable=False)
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    null=True, blank=True, editable=False)
    verified_at = models.DateTimeField(null=True, blank=True, editable=False)
    locked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                  null=True, blank=True, editable=False)
    locked_at = models.DateTimeField(null=True, blank=True, editable=False)

    required_count = models.PositiveSmallIntegerField(
        default=0, editable=False, help_text="Required fields of this form as it stands (derived, see "
                                             "completeness_counts); kept on every save.")
    required_filled = models.PositiveSmallIntegerField(
        default=0, editable=False, help_text="Of those, how many hold a value or a missing reason (derived).")

    objects = FormQuerySet.as_manager()

    #: Dates that may be partial (each has a `<field>_precision` column).
    PARTIAL_DATES: ClassVar[tuple[str, ...]] = ()
    #: Fields that may carry a `<field>_missing_reason` instead of a value.
    MISSING_REASONS: ClassVar[tuple[str, ...]] = ()
    #: Computed by the services from other fields; never typed in.
    DERIVED_FIELDS: ClassVar[tuple[str, ...]] = ()
    #: DOMAIN.md "R" fields that must hold a value (or a missing reason) before the form can be submitted.
    REQUIRED_ON_SUBMIT: ClassVar[tuple[str, ...]] = ()
    #: Set on creation from the parent form and never edited afterwards.
    IMMUTABLE_FIELDS: ClassVar[tuple[str, ...]] = ()

    class Meta:
        abstract = True

    @classmethod
    def workflow_fields(cls) -> frozenset[str]:
        return frozenset({"id", "patient", "status", "version", "created_at", "updated_at", "created_by",
                          "updated_by", "submitted_by", "submitted_at", "verified_by", "verified_at",
                          "locked_by", "locked_at", *COMPLETENESS_FIELDS})

    @classmethod
    def data_fields(cls) -> tuple[str, ...]:
        """Names the user may write through `form_create`/`form_update` (everything but workflow/derived)."""
        skip = cls.workflow_fields() | set(cls.DERIVED_FIELDS)
        return tuple(f.name for f in cls._meta.concrete_fields if f.name not in skip)

    def conditionally_required(self) -> dict[str, str]:
        """DOMAIN.md "C" fields whose condition holds but which are empty: {field: message}."""
        return {}

    def incomplete_fields(self) -> dict[str, str]:
        """Every required field still empty (with no missing-value reason): {field: message}."""
        missing = {}
        for name in self.REQUIRED_ON_SUBMIT:
            value = getattr(self, self._meta.get_field(name).attname)
            if value is None or value == "" or value == []:
                if name in self.MISSING_REASONS and getattr(self, f"{name}_missing_reason"):
                    continue
                missing[name] = f"{name} is required (or give the reason it is missing)."
        missing.update(self.conditionally_required())
        return missing

    def completeness_counts(self) -> tuple[int, int]:
        """(required, filled) as the quality dashboard counts them, from the one rule in `incomplete_fields`:
        every REQUIRED_ON_SUBMIT field, plus each conditionally required field that is missing."""
        required = len(self.REQUIRED_ON_SUBMIT)
        missing = self.incomplete_fields()
        extra = sum(1 for k in missing if k not in self.REQUIRED_ON_SUBMIT)
        return required + extra, required - (len(missing) - extra)

    def save(self, *args, **kwargs):
        """Every single-row write (services, admin, API, shell) refreshes the stored completeness counts."""
        fill_completeness([self])
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, *COMPLETENESS_FIELDS}
        super().save(*args, **kwargs)

    @property
    def is_locked(self) -> bool:
        return self.status == FormStatus.LOCKED
