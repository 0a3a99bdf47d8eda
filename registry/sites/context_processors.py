from registry.core.navigation import menu_for
from registry.sites.scoping import roles_of


def memberships(request):
    """The signed-in user's roles and menu (for navigation only; never used for object access)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"user_roles": set(), "menu": []}
    roles = roles_of(user)
    return {"user_roles": roles, "menu": menu_for(user, roles)}
