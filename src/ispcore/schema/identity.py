"""Users, roles, sessions and personal access tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy import Select
from strawberry import UNSET, relay
from strawberry.types import Info

from ispcore.domain.identity.access_tokens import visible_tokens
from ispcore.domain.identity.actor import Actor
from ispcore.domain.identity.models import PersonalAccessToken as TokenModel
from ispcore.domain.identity.models import Role as RoleModel
from ispcore.domain.identity.models import User as UserModel
from ispcore.schema.errors import UserError
from ispcore.schema.filtering import (
    BooleanFilter,
    DateTimeFilter,
    IdOf,
    StringFilter,
    listing_inputs,
)
from ispcore.schema.nodes import ModelNode, model_node, related


@strawberry.type(description="A named set of permissions given to users.")
@model_node(RoleModel, read_permission="roles:read")
class Role(ModelNode):
    name: str
    description: str
    permissions: list[str] = strawberry.field(
        description="Permission names; the built-in admin role holds all of them.")
    built_in: bool
    created_at: datetime
    updated_at: datetime


@strawberry.type(description="A member of staff (or an integration's service user).")
@model_node(UserModel, read_permission="users:read")
class User(ModelNode):
    email: str
    name: str
    active: bool
    ip_allowlist: list[str] = strawberry.field(
        description="CIDR blocks requests must come from; empty allows any address.")
    last_login_at: datetime | None
    created_at: datetime
    updated_at: datetime
    role_id: strawberry.Private[int]

    @strawberry.field(description="Null without roles:read, except on one's own user.")
    async def role(self, info: Info) -> Role | None:
        return await related(info, Role, self.role_id, own=self.pk == info.context.viewer_id)


@strawberry.type(description="A token for scripts and integrations. The secret is shown once.")
@model_node(TokenModel, read_permission="tokens:read")
class PersonalAccessToken(ModelNode):
    name: str
    display_prefix: str = strawberry.field(
        description="The secret's first characters, to tell tokens apart.")
    scopes: list[str] | None = strawberry.field(
        description="Permissions the token is narrowed to; null means all of its user's.")
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    last_used_ip: str | None
    revoked_at: datetime | None

    @classmethod
    def readable(cls, actor: Actor) -> Select[Any]:
        return visible_tokens(actor)


@strawberry.type(description="A permission roles can hold and tokens can be scoped to.")
class Permission:
    name: str
    description: str


USER_LISTING = listing_inputs(
    "User",
    {"id": IdOf("User"), "email": StringFilter, "name": StringFilter, "active": BooleanFilter,
     "role_id": IdOf("Role"), "created_at": DateTimeFilter},
    order_by=["email", "name", "created_at"],
)
ROLE_LISTING = listing_inputs("Role", {"id": IdOf("Role"), "name": StringFilter}, ["name"])
TOKEN_LISTING = listing_inputs(
    "PersonalAccessToken",
    {"id": IdOf("PersonalAccessToken"), "name": StringFilter, "created_at": DateTimeFilter,
     "expires_at": DateTimeFilter, "revoked_at": DateTimeFilter},
    order_by=["name", "created_at"],
)


@strawberry.input
class LoginInput:
    email: str
    password: str


@strawberry.type
class LoginPayload:
    token: str | None = strawberry.field(
        default=None, description="Send as `Authorization: Bearer <token>`.")
    expires_at: datetime | None = None
    user: User | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class LogoutPayload:
    ended: bool = strawberry.field(default=False,
                                   description="Whether a login session was ended.")
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class CreatePersonalAccessTokenInput:
    name: str
    scopes: list[str] | None = strawberry.field(
        default=None, description="Narrow the token to these permissions; null: all of yours.")
    expires_at: datetime | None = None


@strawberry.type
class CreatePersonalAccessTokenPayload:
    token: PersonalAccessToken | None = None
    secret: str | None = strawberry.field(
        default=None, description="The token itself. Shown only in this response.")
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class RevokePersonalAccessTokenInput:
    id: relay.GlobalID


@strawberry.type
class RevokePersonalAccessTokenPayload:
    token: PersonalAccessToken | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class CreateUserInput:
    email: str
    name: str
    password: str
    role_id: relay.GlobalID
    active: bool = True
    ip_allowlist: list[str] = strawberry.field(default_factory=list)


@strawberry.input
class UpdateUserInput:
    id: relay.GlobalID
    email: str | None = UNSET
    name: str | None = UNSET
    password: str | None = UNSET
    role_id: relay.GlobalID | None = UNSET
    active: bool | None = UNSET
    ip_allowlist: list[str] | None = UNSET


@strawberry.type
class UserPayload:
    user: User | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class CreateRoleInput:
    name: str
    description: str = ""
    permissions: list[str] = strawberry.field(default_factory=list)


@strawberry.input
class UpdateRoleInput:
    id: relay.GlobalID
    name: str | None = UNSET
    description: str | None = UNSET
    permissions: list[str] | None = UNSET


@strawberry.input
class DeleteRoleInput:
    id: relay.GlobalID


@strawberry.type
class RolePayload:
    role: Role | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DeleteRolePayload:
    deleted_id: relay.GlobalID | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
