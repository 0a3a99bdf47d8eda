"""Data-quality objects built through the services, so every rule (roles, statuses, audit) holds in tests.

`casebook_with_warning()` enters the default coherent patient (tests/factories/crfs.py) with 14 cycles of
carboplatin-etoposide on line 1: edit check EC17 warns (usually 4–6 cycles), which opens an automatic query.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from registry.crfs.catalogue import family_of
from registry.crfs.models import FormStatus
from registry.crfs.services import form_submit
from registry.queries import services
from registry.queries.models import DataQuery
from tests.factories.crfs import complete_casebook

WARNING_CYCLES = 14


def casebook_with_warning(site, user, **kwargs) -> dict:
    """The default patient with an EC17 warning on the treatment line (n_cycles = 14)."""
    forms = complete_casebook(site=site, user=user, **kwargs)
    line = forms["treatment"]
    from registry.crfs.services import form_update

    forms["treatment"] = form_update(line, data={"n_cycles": WARNING_CYCLES}, user=user,
                                     expected_version=line.version)
    return forms


def submit_all(forms: dict, user) -> dict:
    """Submit every draft form of a casebook built by complete_casebook()."""
    for key, form in list(forms.items()):
        if key != "patient" and getattr(form, "status", None) == FormStatus.DRAFT:
            forms[key] = form_submit(form, user=user)
    return forms


def manual_query(form, *, user, field: str = "", text: str = "Please check against the source.") -> DataQuery:
    """A manual query raised by `user` (a monitor or data manager) on a field of `form`."""
    return services.query_raise(patient=form.patient, family_code=family_of(form).code, object_id=form.pk,
                                field=field, text=text, user=user)


def age_query(query: DataQuery, days: int) -> DataQuery:
    """Pretend the query was raised `days` ago (for age buckets and time-to-answer)."""
    when = timezone.now() - timedelta(days=days)
    DataQuery.objects.filter(pk=query.pk).update(created_at=when)
    query.refresh_from_db()
    return query

