"""Web pages of the analysis app."""

from django.urls import path  # noqa: F401

app_name = "analysis"
urlpatterns: list = []
