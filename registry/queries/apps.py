from django.apps import AppConfig


class QueriesConfig(AppConfig):
    name = "registry.queries"
    label = "queries"
    verbose_name = "Data quality"

    def ready(self) -> None:
        from registry.queries import receivers  # noqa: F401  (connects the CRF workflow receivers)
