"""REST API of the crfs app (mounted under /api/v1/): patients, every catalogue form family, regimens and
edit-check findings. Form URLs are generated from registry/crfs/catalogue.py."""

from django.urls import path

from registry.crfs.api.views import forms, patients, reference
from registry.crfs.catalogue import FAMILIES


def _form_urls() -> list:
    urls = []
    for fam in FAMILIES:
        views = forms.FAMILY_VIEWS[fam.code]
        prefix = "patients/<int:patient_id>/"
        if fam.parent:
            prefix += f"{fam.parent}/<int:{fam.parent_field}_id>/"
        prefix += f"{fam.code}/"
        if fam.repeating:
            urls.append(path(prefix, views.collection.as_view(), name=f"api-{fam.code}-list"))
            prefix += "<int:pk>/"
        urls.append(path(prefix, views.detail.as_view(), name=f"api-{fam.code}-detail"))
        urls += [path(f"{prefix}{action}/", view.as_view(), name=f"api-{fam.code}-{action}")
                 for action, view in views.actions.items()]
    return urls


urlpatterns = [
    path("patients/", patients.PatientList.as_view(), name="api-patient-list"),
    path("patients/<int:pk>/", patients.PatientDetail.as_view(), name="api-patient-detail"),
    path("patients/<int:pk>/withdraw/", patients.PatientWithdraw.as_view(), name="api-patient-withdraw"),
    *_form_urls(),
    path("regimens/", reference.RegimenList.as_view(), name="api-regimen-list"),
    path("findings/", reference.FindingList.as_view(), name="api-finding-list"),
]
