"""Query filters of the CRF API. They only narrow querysets the selectors have already scoped, so a filter on
another site's id finds nothing rather than revealing that it exists."""

import django_filters
from django import forms

from registry.crfs.models import EditCheckFinding, FindingSeverity
from registry.patients.models import Patient


class IdFilter(django_filters.Filter):
    """An integer id (NumberFilter would accept 1.5 and round it)."""

    field_class = forms.IntegerField


class PatientFilter(django_filters.FilterSet):
    site = IdFilter(field_name="site_id", help_text="Site id.")
    site_code = django_filters.CharFilter(field_name="site__code", lookup_expr="iexact", help_text="Site code.")
    withdrawn = django_filters.BooleanFilter()
    study_id = django_filters.CharFilter(lookup_expr="icontains", help_text="Part of the study id.")

    class Meta:
        model = Patient
        fields: list[str] = []


class FindingFilter(django_filters.FilterSet):
    patient = IdFilter(field_name="patient_id", help_text="Patient id.")
    site = IdFilter(field_name="patient__site_id", help_text="Site id.")
    form = django_filters.CharFilter(help_text="Catalogue code of the form family, e.g. pathology.")
    object_id = IdFilter(help_text="Form instance id.")
    severity = django_filters.ChoiceFilter(choices=FindingSeverity.choices)
    rule = django_filters.CharFilter(lookup_expr="iexact", help_text="Edit-check id, e.g. EC20.")

    class Meta:
        model = EditCheckFinding
        fields: list[str] = []
