"""Each root field and mutation declares the one permission it needs."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError
from strawberry.extensions import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.types import Info

from ispcore.domain.identity.actor import Actor
from ispcore.domain.identity.permissions import PERMISSIONS

#: Marker for the few fields anyone may call (``login``); the schema test checks every other
#: root field carries a permission.
PUBLIC = "public"
#: Marker for fields any signed-in user may call (``me``, ``logout``).
AUTHENTICATED = "authenticated"


class Require(BasePermission):
    def __init__(self, permission: str) -> None:
        if permission not in (PUBLIC, AUTHENTICATED) and permission not in PERMISSIONS:
            raise ValueError(f"unknown permission {permission!r}")
        self.permission = permission

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        if self.permission == PUBLIC:
            return True
        actor = info.context.actor
        if actor.can(self.permission) or (self.permission == AUTHENTICATED
                                          and actor.authenticated):
            return True
        raise denied(actor, self.permission)


def denied(actor: Actor, permission: str) -> GraphQLError:
    """The error for an actor lacking ``permission``: UNAUTHENTICATED if nobody signed in."""
    if actor.authenticated:
        return GraphQLError(f"Missing permission {permission}.",
                            extensions={"code": "FORBIDDEN", "permission": permission})
    return GraphQLError("Authentication required: send Authorization: Bearer <token>.",
                        extensions={"code": "UNAUTHENTICATED", "permission": permission})


def requires(permission: str) -> list[FieldExtension]:
    """The ``extensions=`` of a field that needs ``permission``."""
    return [PermissionExtension(permissions=[Require(permission)], use_directives=False)]


def field_permission(extensions: list[Any]) -> str | None:
    for extension in extensions:
        if isinstance(extension, PermissionExtension):
            for permission in extension.permissions:
                if isinstance(permission, Require):
                    return permission.permission
    return None
