from django.apps import AppConfig


class PathologyConfig(AppConfig):
    name = "registry.pathology"
    label = "pathology"
    verbose_name = "Central pathology review"

    def ready(self) -> None:
        from registry.pathology import receivers  # noqa: F401  (connects the form_submitted receiver)
