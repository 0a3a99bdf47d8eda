from django.apps import AppConfig


class AnalysisConfig(AppConfig):
    name = "analysis"
    label = "analysis"
    verbose_name = "Outcome analyses"
