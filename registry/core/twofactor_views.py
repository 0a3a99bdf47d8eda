"""Pages to set up a TOTP device and to verify a code at sign-in."""

from __future__ import annotations

import base64

from django import forms
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from registry.core.twofactor import qr_code_data_uri


class TokenForm(forms.Form):
    token = forms.CharField(label="6-digit code", max_length=6, min_length=6,
                            widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}))


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/"
    return target if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}) else "/"


@login_required
def setup(request):
    """Create (once) an unconfirmed TOTP device, show its QR code, confirm it with a first valid code."""
    device = TOTPDevice.objects.filter(user=request.user, confirmed=False).first() or TOTPDevice.objects.create(
        user=request.user, name="Authenticator app", confirmed=False)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            device.confirmed = True
            device.save()
            otp_login(request, device)
            return redirect(_next_url(request))
        form.add_error("token", "That code is not valid. Check the time on your phone and try again.")
    return render(request, "registration/twofactor_setup.html", {
        "form": form, "qr": qr_code_data_uri(device.config_url), "next": _next_url(request),
        "secret": base64.b32encode(device.bin_key).decode(),
    })


@login_required
def verify(request):
    """Ask for the current code of the user's confirmed device."""
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        for device in TOTPDevice.objects.filter(user=request.user, confirmed=True):
            if device.verify_token(form.cleaned_data["token"]):
                otp_login(request, device)
                return redirect(_next_url(request))
        form.add_error("token", "That code is not valid.")
    return render(request, "registration/twofactor_verify.html", {"form": form, "next": _next_url(request)})
