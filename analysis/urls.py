"""Web pages of the analysis app."""

from django.urls import path

from analysis import views

app_name = "analysis"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("recompute/", views.recompute, name="recompute"),
    path("runs/", views.run_list, name="runs"),
    path("runs/<int:pk>/", views.run_detail, name="run_detail"),
    path("runs/<int:pk>/progress/", views.run_progress, name="run_progress"),
    path("figures/<int:pk>.<str:fmt>", views.figure, name="figure"),
    path("report/", views.report, name="report"),
    path("report.pdf", views.report_pdf, name="report_pdf"),
]
