from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "registry.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from registry.core import (
            schema,  # noqa: F401 - registers the OpenAPI auth extensions
            sessions,  # noqa: F401 - stamps the session at sign-in
        )
