from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from registry.core import twofactor_views
from registry.core import views as core_views

api_v1 = [
    path("", include("registry.sites.api.urls")),
    path("", include("registry.crfs.api.urls")),
    path("pathology/", include("registry.pathology.api.urls")),
    path("queries/", include("registry.queries.api.urls")),
    path("exports/", include("registry.exports.api.urls")),
    path("analysis/", include("analysis.api.urls")),
]

urlpatterns = [
    path("", core_views.home, name="home"),
    path("health", core_views.health, name="health"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("accounts/2fa/setup/", twofactor_views.setup, name="twofactor_setup"),
    path("accounts/2fa/verify/", twofactor_views.verify, name="twofactor_verify"),
    path("admin/", admin.site.urls),
    path("patients/", include("registry.crfs.urls")),
    path("pathology/", include("registry.pathology.urls")),
    path("queries/", include("registry.queries.urls")),
    path("exports/", include("registry.exports.urls")),
    path("redcap/", include("registry.exports.redcap.urls")),
    path("analysis/", include("analysis.urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

# A database that is down or restarting answers 503 with Retry-After, not a 500 (registry/core/resilience.py).
handler500 = "registry.core.resilience.server_error"
