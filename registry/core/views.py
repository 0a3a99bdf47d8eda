from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from registry.core.health import system_health


@require_GET
@never_cache
def health(request):
    """Database, broker and worker status for load balancers and people (503 when degraded)."""
    report = system_health()
    return JsonResponse(report, status=200 if report["status"] == "up" else 503)


@login_required
def home(request):
    return render(request, "core/home.html")
