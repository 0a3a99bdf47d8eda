"""REST API of the exports app (mounted under /api/v1/exports/)."""

from django.urls import include, path

from registry.exports.api import views

patterns = [
    path("jobs/", views.ExportJobListCreate.as_view(), name="job-list"),
    path("jobs/<int:pk>/", views.ExportJobDetail.as_view(), name="job-detail"),
    path("jobs/<int:pk>/download/", views.ExportJobDownload.as_view(), name="job-download"),
]
urlpatterns = [path("", include((patterns, "exports-api")))]
