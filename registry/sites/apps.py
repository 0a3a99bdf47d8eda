from django.apps import AppConfig


class SitesConfig(AppConfig):
    name = "registry.sites"
    label = "sites"
    verbose_name = "Sites and roles"
