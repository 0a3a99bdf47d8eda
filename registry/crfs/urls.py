"""Web pages of the crfs app, mounted at /patients/."""

from django.urls import path

from registry.crfs.web import views

app_name = "crfs"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("enrol/", views.enrol, name="enrol"),
    path("<int:patient_id>/", views.patient_detail, name="patient"),
    path("<int:patient_id>/<str:family_code>/new/", views.form_page, name="form_new"),
    path("<int:patient_id>/<str:family_code>/new/validate/", views.form_check, name="form_validate_new"),
    path("<int:patient_id>/<str:family_code>/<int:pk>/", views.form_page, name="form"),
    path("<int:patient_id>/<str:family_code>/<int:pk>/validate/", views.form_check, name="form_validate"),
    path("<int:patient_id>/<str:family_code>/<int:pk>/workflow/", views.form_workflow, name="form_workflow"),
    path("<int:patient_id>/<str:family_code>/<int:pk>/history/", views.form_history_page, name="form_history"),
]
