"""Session lifetime (ASVS V3.3): an idle timeout, an absolute timeout, and no lost input when a session
expires while a case report form is being filled in.

Idle: the session and its cookie live SESSION_COOKIE_AGE seconds (REGISTRY_SESSION_IDLE_MINUTES, 30 by
default, like REDCap) after the last request; the expiry is pushed forward at most every minute, so an
active user is not signed out and a request does not always cost a session write. Absolute: a session is
ended REGISTRY_SESSION_MAX_HOURS after sign-in whatever the activity.

Draft preservation: the form page keeps what the user typed in the browser tab's sessionStorage when the
form is submitted (static/js/crfs-draft.js). A CRF form posted without a session is not lost behind a
login redirect: the user is sent to sign in and back to the form with `restore_draft=1`, and the page puts
the input back for review. Nothing of the input is stored on the server by an anonymous request.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout, user_logged_in
from django.contrib.auth.views import redirect_to_login
from django.dispatch import receiver
from django.urls import Resolver404, resolve

#: Views whose posted input is preserved across a session expiry.
DRAFT_VIEWS = frozenset({"crfs:form", "crfs:form_new", "crfs:enrol"})
RESTORE_PARAMETER = "restore_draft"
LAST_SEEN, STARTED = "_registry_last_seen", "_registry_started"


def touch_interval(age: int) -> int:
    """How often the idle expiry is pushed forward: every minute, or more often for very short timeouts."""
    return max(1, min(60, age // 4))


@receiver(user_logged_in, dispatch_uid="core.sessions.stamp")
def stamp_session(sender, request, user, **kwargs) -> None:
    """Start both clocks at sign-in (saved with the sign-in, so the first page costs no session write)."""
    if request is not None and hasattr(request, "session"):
        now = int(time.time())
        request.session[STARTED] = request.session[LAST_SEEN] = now


class SessionTimeoutMiddleware:
    """Ends sessions past the absolute timeout and keeps active sessions alive (idle timeout)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            now = int(time.time())
            started = request.session.setdefault(STARTED, now)
            if now - started > settings.REGISTRY_SESSION_MAX_AGE:
                logout(request)
            elif now - request.session.get(LAST_SEEN, 0) >= touch_interval(settings.SESSION_COOKIE_AGE):
                request.session[LAST_SEEN] = now  # modified → saved with a new expiry and a fresh cookie
        if request.method == "POST" and not request.user.is_authenticated and not request.headers.get("HX-Request"):
            try:
                view = resolve(request.path_info).view_name
            except Resolver404:
                view = None
            if view in DRAFT_VIEWS:
                return self.sign_in_and_restore(request)
        return self.get_response(request)

    @staticmethod
    def sign_in_and_restore(request):
        query = request.GET.copy()
        query[RESTORE_PARAMETER] = "1"
        messages.warning(request, "Your session expired before the form was saved. Nothing was saved; your input "
                                  "is kept in this browser tab. Sign in to get it back, then save again.")
        return redirect_to_login(f"{request.path}?{query.urlencode()}")
