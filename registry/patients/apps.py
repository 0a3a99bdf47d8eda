from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "registry.patients"
    label = "patients"
    verbose_name = "Patients"
