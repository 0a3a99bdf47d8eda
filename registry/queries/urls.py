"""Web pages of the queries app."""

from django.urls import path  # noqa: F401

app_name = "queries"
urlpatterns: list = []
