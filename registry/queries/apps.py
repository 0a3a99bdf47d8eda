from django.apps import AppConfig


class QueriesConfig(AppConfig):
    name = "registry.queries"
    label = "queries"
    verbose_name = "Data quality"
