from registry.sites.scoping import roles_of


def memberships(request):
    """The signed-in user's roles, for the navigation menu (never used for object access)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"user_roles": set()}
    if not hasattr(request, "_user_roles"):
        request._user_roles = roles_of(user)
    return {"user_roles": request._user_roles}
