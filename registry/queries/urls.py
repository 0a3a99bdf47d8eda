"""Web pages of the queries app (mounted at /queries/)."""

from django.urls import path

from registry.queries import views

app_name = "queries"
urlpatterns = [
    path("", views.query_list, name="list"),
    path("export.csv", views.query_list_csv, name="list_csv"),
    path("<int:pk>/", views.query_detail, name="detail"),
    path("<int:pk>/answer/", views.query_answer, name="answer"),
    path("<int:pk>/close/", views.query_close, name="close"),
    path("<int:pk>/reopen/", views.query_reopen, name="reopen"),
    path("<int:pk>/comment/", views.query_comment, name="comment"),
    path("worklist/", views.worklist, name="worklist"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard.csv", views.dashboard_csv, name="dashboard_csv"),
    path("patients/<int:pk>/", views.patient_quality, name="patient"),
    path("patients/<int:pk>/lock/", views.patient_lock, name="patient_lock"),
    path("patients/<int:pk>/sign/", views.patient_sign, name="patient_sign"),
    path("forms/<str:family_code>/<int:pk>/", views.form_quality, name="form"),
    path("forms/<str:family_code>/<int:pk>/verify/", views.form_verify_fields, name="form_verify"),
    path("forms/<str:family_code>/<int:pk>/raise/", views.query_raise, name="raise"),
    path("freezes/", views.freezes, name="freezes"),
]
