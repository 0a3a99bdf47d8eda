from django.apps import AppConfig


class PathologyConfig(AppConfig):
    name = "registry.pathology"
    label = "pathology"
    verbose_name = "Central pathology review"
