"""REST API of the analysis app (mounted under /api/v1/analysis/)."""

from django.urls import path

from analysis.api import views

urlpatterns = [
    path("definitions/", views.DefinitionList.as_view(), name="analysis-definitions"),
    path("definitions/<slug:code>/", views.DefinitionDetail.as_view(), name="analysis-definition"),
    path("runs/", views.RunList.as_view(), name="analysis-runs"),
    path("runs/<int:pk>/", views.RunDetail.as_view(), name="analysis-run"),
    path("results/latest/", views.LatestResults.as_view(), name="analysis-results-latest"),
    path("settings/", views.SettingsDetail.as_view(), name="analysis-settings"),
]
