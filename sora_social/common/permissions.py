"""Permission classes shared by the apps' APIs."""

from rest_framework.permissions import BasePermission

from sora_social.common.errors import Forbidden


class IsNotSuspended(BasePermission):
    """Suspended accounts may read but not create or interact."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if user.is_authenticated and getattr(user, "is_suspended", False):
            raise Forbidden(
                "account_suspended", f"Your account is suspended until {user.suspended_until:%Y-%m-%d %H:%M} UTC."
            )
        return True


class IsStaff(BasePermission):
    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)
