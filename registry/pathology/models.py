"""F9 — central pathology re-review: material shipments, review cases, blinded reads, adjudication, the final
classification per patient, and notices to sites.

Local pathology (crfs F4) is never written here: central values live in their own tables (DESIGN.md §4).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from registry.audit.tracking import audited
from registry.core.models import TimeStampedModel
from registry.crfs.models.pathology import CellType, Differentiation, IhcResult, P53Result, Rb1Result
from registry.sites.scoping import scoped_queryset_class


class Material(models.TextChoices):
    HE = "HE", "H&E slide"
    CGA = "CgA", "Chromogranin A IHC slide"
    SYNAPTOPHYSIN = "synaptophysin", "Synaptophysin IHC slide"
    KI67 = "Ki67", "Ki-67 IHC slide"
    P53 = "p53", "p53 IHC slide"
    RB = "Rb", "Rb IHC slide"
    SSTR2 = "SSTR2", "SSTR2 IHC slide"
    BLOCK = "block", "FFPE block"


#: What a case needs before it can be read (H&E + CgA + synaptophysin + Ki-67 were collected, DOMAIN.md §2.4).
REQUIRED_MATERIAL: tuple[str, ...] = (Material.HE, Material.CGA, Material.SYNAPTOPHYSIN, Material.KI67)


class CaseStatus(models.TextChoices):
    AWAITING_MATERIAL = "awaiting_material", "Awaiting material"
    READY = "ready", "Ready for review"
    IN_REVIEW = "in_review", "In review"
    SECOND_REVIEW = "second_review", "Second review"
    ADJUDICATION = "adjudication", "Adjudication"
    FINAL = "final", "Final"


OPEN_STATUSES = (CaseStatus.AWAITING_MATERIAL, CaseStatus.READY, CaseStatus.IN_REVIEW, CaseStatus.SECOND_REVIEW,
                 CaseStatus.ADJUDICATION)


class Priority(models.IntegerChoices):
    ROUTINE = 0, "Routine"
    HIGH = 1, "High"
    URGENT = 2, "Urgent"


class CentralDiagnosis(models.TextChoices):
    """F9 central_diagnosis: the local codes less "NEN G3 unspecified", which only pre-2017 reports use."""

    NET_G1 = "NET_G1", "NET G1"
    NET_G2 = "NET_G2", "NET G2"
    NET_G3 = "NET_G3", "NET G3"
    NEC_SMALL_CELL = "NEC_small_cell", "NEC, small cell"
    NEC_LARGE_CELL = "NEC_large_cell", "NEC, large cell"
    NEC_NOS = "NEC_nos", "NEC, NOS"
    MINEN = "MiNEN", "MiNEN"
    NOT_NEN = "not_NEN", "Not a NEN"


class CentralDifferentiation(models.TextChoices):
    WELL = Differentiation.WELL.value, Differentiation.WELL.label
    POOR = Differentiation.POOR.value, Differentiation.POOR.label
    AMBIGUOUS = Differentiation.AMBIGUOUS.value, Differentiation.AMBIGUOUS.label


class MorphologyFinding(models.TextChoices):
    PRESENT = "present", "Present"
    ABSENT = "absent", "Absent"
    INDETERMINATE = "indeterminate", "Indeterminate"


class Necrosis(models.TextChoices):
    NONE = "none", "None"
    FOCAL = "focal", "Focal"
    EXTENSIVE = "extensive", "Extensive"


class FinalDiagnosis(models.TextChoices):
    NET_G3 = "NET_G3", "NET G3"
    NEC_SMALL = "NEC_small", "NEC, small cell"
    NEC_LARGE = "NEC_large", "NEC, large cell"
    NEC_NOS = "NEC_nos", "NEC, NOS"
    MINEN = "MiNEN", "MiNEN"
    NET_G1G2 = "NET_G1G2", "NET G1/G2"
    NOT_HG_NEN = "not_HG_NEN", "Not a high-grade NEN"
    NOT_REVIEWABLE = "not_reviewable", "Not reviewable"


class FinalMethod(models.TextChoices):
    SINGLE_REVIEWER = "single_reviewer", "Single reviewer, concordant with local"
    TWO_REVIEWERS_AGREE = "two_reviewers_agree", "Two independent reviewers agree"
    CONSENSUS_MEETING = "consensus_meeting", "Consensus meeting"
    LOCAL_ONLY = "local_only", "Local diagnosis only"


class Ki67Source(models.TextChoices):
    CENTRAL = "central", "Central"
    LOCAL = "local", "Local"
    NONE = "none", "Not available"


@audited()
class Shipment(TimeStampedModel):
    """One parcel of material a site sends for one specimen; blocks go back to the site afterwards."""

    specimen = models.ForeignKey("crfs.LocalPathology", on_delete=models.PROTECT, related_name="shipments")
    shipped_on = models.DateField()
    courier_reference = models.CharField(max_length=100, blank=True)
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    received_on = models.DateField(null=True, blank=True)
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    null=True, blank=True)
    condition_on_receipt = models.CharField(max_length=200, blank=True)
    blocks_return_due = models.DateField(null=True, blank=True)
    blocks_returned_on = models.DateField(null=True, blank=True)
    return_courier_reference = models.CharField(max_length=100, blank=True)
    comment = models.TextField(blank=True)

    objects = scoped_queryset_class("specimen__patient__site").as_manager()

    class Meta:
        ordering = ["-shipped_on", "-pk"]
        indexes = [
            # The material page's two central lists, a page at a time in their order (bench/plans.py).
            models.Index(fields=["shipped_on", "id"], condition=Q(received_on__isnull=True),
                         name="shipment_to_receive_order"),
            models.Index(fields=["blocks_return_due", "id"],
                         condition=Q(received_on__isnull=False, blocks_returned_on__isnull=True),
                         name="shipment_blocks_out_order"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(received_on__isnull=True) | Q(received_on__gte=models.F("shipped_on")),
                                   name="shipment_received_after_shipped"),
            models.CheckConstraint(condition=Q(blocks_returned_on__isnull=True) | Q(received_on__isnull=False),
                                   name="shipment_blocks_returned_after_receipt"),
        ]

    def __str__(self) -> str:
        return f"Shipment {self.pk} (specimen {self.specimen_id})"


@audited()
class ShipmentItem(TimeStampedModel):
    """One kind of material in a shipment, with how many slides or blocks (each listed separately)."""

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="items")
    material = models.CharField(max_length=16, choices=Material.choices)
    quantity = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1)])

    objects = scoped_queryset_class("shipment__specimen__patient__site").as_manager()

    class Meta:
        ordering = ["shipment", "material"]
        constraints = [
            models.UniqueConstraint(fields=["shipment", "material"], name="shipment_item_unique_material"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="shipment_item_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.get_material_display()}"


@audited()
class ReviewCase(TimeStampedModel):
    """One patient's central review, from the local form's submission to the final classification."""

    patient = models.OneToOneField("patients.Patient", on_delete=models.PROTECT, related_name="review_case")
    specimen = models.ForeignKey("crfs.LocalPathology", on_delete=models.PROTECT, related_name="review_cases")
    status = models.CharField(max_length=20, choices=CaseStatus.choices, default=CaseStatus.AWAITING_MATERIAL)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.ROUTINE)
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    null=True, blank=True,
                                    help_text="The pathologist reading the case now (first or second read).")
    assigned_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField()
    material_received_at = models.DateTimeField(null=True, blank=True,
                                                 help_text="Turnaround is measured from here.")
    finalised_at = models.DateTimeField(null=True, blank=True)
    discordant_with_local = models.BooleanField(null=True, blank=True)
    discordance_reasons = ArrayField(models.CharField(max_length=80), default=list, blank=True)
    version = models.PositiveIntegerField(default=1)

    objects = scoped_queryset_class("patient__site").as_manager()

    class Meta:
        ordering = ["-priority", "material_received_at", "opened_at", "pk"]
        indexes = [
            models.Index(fields=["status", "priority"]),
            # The queue's order: a page of the queue reads 50 index entries instead of sorting every case
            # (bench/plans.py at 100,000 patients: 488 ms → see the issue note).
            models.Index(fields=["-priority", "material_received_at", "opened_at", "id"],
                         name="reviewcase_queue_order"),
            # claim-next walks the claimable cases in queue order and stops at the first it can lock.
            models.Index(fields=["-priority", "material_received_at", "opened_at", "id"],
                         condition=Q(status__in=[CaseStatus.READY, CaseStatus.SECOND_REVIEW]),
                         name="reviewcase_claim_order"),
            # The material page's outstanding cases (open cases, oldest first), a page at a time.
            models.Index(fields=["opened_at", "id"], condition=Q(status__in=OPEN_STATUSES),
                         name="reviewcase_open_order"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status__in=[CaseStatus.IN_REVIEW]) | Q(assigned_to__isnull=False),
                name="review_case_in_review_has_reviewer"),
            models.CheckConstraint(
                condition=~Q(status=CaseStatus.FINAL) | Q(finalised_at__isnull=False),
                name="review_case_final_has_date"),
        ]

    def __str__(self) -> str:
        return f"Review case {self.pk} ({self.patient_id})"


@audited()
class CentralReview(TimeStampedModel):
    """One pathologist's blinded read of the specimen (F9). Read 2 is an independent second read."""

    case = models.ForeignKey(ReviewCase, on_delete=models.PROTECT, related_name="reviews")
    specimen = models.ForeignKey("crfs.LocalPathology", on_delete=models.PROTECT, related_name="central_reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    read_number = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(2)])
    review_date = models.DateField()
    submitted_at = models.DateTimeField()
    # Empty on input means "what was received for the specimen" (filled in by the service).
    material_received = ArrayField(models.CharField(max_length=16, choices=Material.choices), default=list,
                                   blank=True)
    blinded_to_local_diagnosis = models.BooleanField(default=True)
    blinded_to_outcome = models.BooleanField(default=True)
    adequate_material = models.BooleanField()
    central_diagnosis = models.CharField(max_length=20, choices=CentralDiagnosis.choices, blank=True)
    differentiation = models.CharField(max_length=16, choices=CentralDifferentiation.choices, blank=True)
    cell_type = models.CharField(max_length=16, choices=CellType.choices, blank=True)
    morph_organoid_pattern = models.CharField(max_length=14, choices=MorphologyFinding.choices, blank=True)
    morph_capillary_network_contact = models.CharField(max_length=14, choices=MorphologyFinding.choices,
                                                       blank=True)
    morph_desmoplastic_stroma = models.CharField(max_length=14, choices=MorphologyFinding.choices, blank=True)
    morph_necrosis = models.CharField(max_length=10, choices=Necrosis.choices, blank=True)
    ki67_central_percent = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True,
                                               validators=[MinValueValidator(0), MaxValueValidator(100)])
    ki67_central_cells_counted = models.PositiveIntegerField(null=True, blank=True,
                                                             validators=[MinValueValidator(500)])
    mitoses_per_2mm2 = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True,
                                           validators=[MinValueValidator(0), MaxValueValidator(500)])
    p53_ihc = models.CharField(max_length=10, choices=P53Result.choices, blank=True)
    rb1_ihc = models.CharField(max_length=10, choices=Rb1Result.choices, blank=True)
    sstr2_ihc = models.CharField(max_length=10, choices=IhcResult.choices, blank=True)
    comment = models.TextField(blank=True)

    objects = scoped_queryset_class("case__patient__site").as_manager()

    class Meta:
        ordering = ["case", "read_number"]
        constraints = [
            models.UniqueConstraint(fields=["case", "read_number"], name="central_review_unique_read"),
            # The second read must come from a different pathologist.
            models.UniqueConstraint(fields=["case", "reviewer"], name="central_review_unique_reviewer"),
            models.CheckConstraint(condition=Q(read_number__in=[1, 2]), name="central_review_read_1_or_2"),
            models.CheckConstraint(
                condition=Q(adequate_material=False)
                | (~Q(central_diagnosis="") & Q(ki67_central_percent__isnull=False)),
                name="central_review_adequate_needs_diagnosis_and_ki67"),
            models.CheckConstraint(
                condition=Q(ki67_central_percent__isnull=True)
                | Q(ki67_central_percent__gte=0, ki67_central_percent__lte=100),
                name="central_review_ki67_range"),
        ]

    def __str__(self) -> str:
        return f"Read {self.read_number} of case {self.case_id}"


@audited()
class Adjudication(TimeStampedModel):
    """The consensus decision on a case the two reads (or read and local) left unresolved."""

    case = models.OneToOneField(ReviewCase, on_delete=models.PROTECT, related_name="adjudication")
    decided_on = models.DateField()
    final_diagnosis = models.CharField(max_length=16, choices=FinalDiagnosis.choices)
    final_ki67 = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True,
                                     validators=[MinValueValidator(0), MaxValueValidator(100)])
    rationale = models.TextField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    participants = models.ManyToManyField(settings.AUTH_USER_MODEL, through="AdjudicationParticipant",
                                          related_name="+")

    objects = scoped_queryset_class("case__patient__site").as_manager()

    class Meta:
        constraints = [models.CheckConstraint(condition=~Q(rationale=""), name="adjudication_has_rationale")]

    def __str__(self) -> str:
        return f"Adjudication of case {self.case_id}"


@audited()
class AdjudicationParticipant(models.Model):
    adjudication = models.ForeignKey(Adjudication, on_delete=models.CASCADE, related_name="participant_rows")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    objects = scoped_queryset_class("adjudication__case__patient__site").as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["adjudication", "user"], name="adjudication_participant_once")]

    def __str__(self) -> str:
        return f"{self.user} @ adjudication {self.adjudication_id}"


@audited()
class FinalClassification(TimeStampedModel):
    """What analyses read (F9/F10): one per patient, with how it was reached."""

    patient = models.OneToOneField("patients.Patient", on_delete=models.PROTECT, related_name="final_classification")
    case = models.OneToOneField(ReviewCase, on_delete=models.PROTECT, related_name="final_classification",
                                null=True, blank=True)
    final_diagnosis = models.CharField(max_length=16, choices=FinalDiagnosis.choices)
    final_ki67 = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    ki67_source = models.CharField(max_length=8, choices=Ki67Source.choices)
    method = models.CharField(max_length=20, choices=FinalMethod.choices)
    discordant_with_local = models.BooleanField()
    decided_at = models.DateTimeField()

    objects = scoped_queryset_class("patient__site").as_manager()

    class Meta:
        ordering = ["patient"]
        constraints = [
            models.CheckConstraint(condition=Q(final_ki67__isnull=True) | Q(final_ki67__gte=0, final_ki67__lte=100),
                                   name="final_classification_ki67_range"),
            models.CheckConstraint(condition=Q(final_ki67__isnull=True) | ~Q(ki67_source=Ki67Source.NONE),
                                   name="final_classification_ki67_has_source"),
        ]

    def __str__(self) -> str:
        return f"{self.patient_id}: {self.final_diagnosis}"


@audited()
class Notification(TimeStampedModel):
    """An in-app notice to a site's staff (e.g. the final classification of one of its patients)."""

    site = models.ForeignKey("sites.Site", on_delete=models.PROTECT, related_name="pathology_notifications")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+", null=True,
                                blank=True)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    read_at = models.DateTimeField(null=True, blank=True)
    read_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True,
                                blank=True)

    objects = scoped_queryset_class("site").as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.subject
