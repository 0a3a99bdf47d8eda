"""Central review built through the services: a submitted local pathology form (which opens the case through
the `form_submitted` signal, as in production), material shipped and received, reads claimed and submitted."""

from __future__ import annotations

from decimal import Decimal

from django.test import TestCase
from django.utils import timezone

from registry.crfs import services as crfs_services
from registry.pathology import services
from registry.pathology.models import REQUIRED_MATERIAL, ReviewCase
from tests.factories.crfs import (
    BaselineFactory,
    LocalPathologyFactory,
    TumourStagingFactory,
    data_entry_user,
    days_ago,
)
from tests.factories.patients import PatientFactory

#: A clearly recognisable local Ki-67, so blinding tests can look for it in pages and JSON.
LOCAL_KI67 = Decimal("37.3")


def local_pathology(diagnosis: str, ki67: Decimal | str | None) -> dict:
    """Valid F4 values for a local diagnosis (cell type, differentiation and mitoses that pass the checks)."""
    data = {"local_diagnosis": diagnosis, "ki67_percent": None if ki67 is None else Decimal(str(ki67))}
    if diagnosis.startswith("NEC"):
        data["differentiation"] = "poor"
        data["cell_type"] = {"NEC_small_cell": "small_cell", "NEC_large_cell": "large_cell"}.get(diagnosis, "")
    else:
        data["differentiation"] = "well" if diagnosis.startswith("NET") else "poor"
        data["cell_type"] = ""
    if diagnosis == "MiNEN":
        data.update(minen_nonNE_component="adenocarcinoma", minen_nonNE_percent=Decimal("40.0"))
    # NEC/NET G3 need Ki-67 > 20 or mitoses > 20 (EC18); boundary cases below 20 % carry the mitoses.
    data["mitoses_per_2mm2"] = Decimal("25.0")
    return data


def submitted_specimen(patient=None, *, site=None, diagnosis: str = "NEC_large_cell",
                       ki67: Decimal | str | None = LOCAL_KI67, **overrides):
    """A patient with baseline and tumour forms and a submitted local pathology form; the submit's on-commit
    signal opens the review case."""
    patient = patient or PatientFactory(**({"site": site} if site else {}))
    user = data_entry_user(patient.site)
    if not patient.baseline_forms.exists():
        BaselineFactory(patient=patient, user=user)
        TumourStagingFactory(patient=patient, user=user)
    form = LocalPathologyFactory(patient=patient, user=user, **{**local_pathology(diagnosis, ki67), **overrides})
    with TestCase.captureOnCommitCallbacks(execute=True):
        form = crfs_services.form_submit(form, user=user)
    return form


def ship_and_receive(case: ReviewCase, *, receiver, materials=REQUIRED_MATERIAL, sent_days_ago: int = 10,
                     received_days_ago: int = 7):
    """The site sends the required slides and the central lab receives them (the case becomes ready)."""
    sender = data_entry_user(case.patient.site)
    shipment = services.shipment_create(specimen=case.specimen, user=sender, shipped_on=days_ago(sent_days_ago),
                                        items={m: 1 for m in materials}, courier_reference="DHL-123")
    services.shipment_receive(shipment=shipment, user=receiver, received_on=days_ago(received_days_ago))
    return shipment


def ready_case(*, receiver, site=None, patient=None, diagnosis: str = "NEC_large_cell",
               ki67: Decimal | str | None = LOCAL_KI67, **overrides) -> ReviewCase:
    """A review case with its material received, waiting in the queue."""
    specimen = submitted_specimen(patient, site=site, diagnosis=diagnosis, ki67=ki67, **overrides)
    case = ReviewCase.objects.get(patient_id=specimen.patient_id)
    ship_and_receive(case, receiver=receiver)
    case.refresh_from_db()
    return case


def read(**overrides) -> dict:
    """A valid central read (F9): adequate NEC, large cell, Ki-67 80 %."""
    data = {
        "review_date": timezone.localdate(),
        "adequate_material": True,
        "central_diagnosis": "NEC_large_cell",
        "differentiation": "poor",
        "morph_organoid_pattern": "absent",
        "morph_capillary_network_contact": "absent",
        "morph_desmoplastic_stroma": "present",
        "morph_necrosis": "extensive",
        "ki67_central_percent": Decimal("80.0"),
        "ki67_central_cells_counted": 800,
        "p53_ihc": "aberrant",
        "rb1_ihc": "lost",
        "comment": "",
    }
    data.update(overrides)
    if data["central_diagnosis"] != "NEC_large_cell" and "differentiation" not in overrides:
        data["differentiation"] = "well" if data["central_diagnosis"].startswith("NET") else "poor"
    return data


def claim_and_read(case: ReviewCase, reviewer, **overrides):
    """The reviewer claims the case and submits a read."""
    case = services.case_claim(case=case, user=reviewer)
    return services.review_submit(case=case, user=reviewer, data=read(**overrides))
