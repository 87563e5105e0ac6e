from __future__ import annotations

from typing import Any

import strawberry
from strawberry import relay
from strawberry.types import Info

from ispcore.domain.common.errors import DomainError, ErrorCode
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.identity import access_tokens, auth, throttle, users
from ispcore.domain.identity.models import PersonalAccessToken as TokenModel
from ispcore.domain.identity.models import Role as RoleModel
from ispcore.domain.identity.models import User as UserModel
from ispcore.domain.identity.permissions import PERMISSIONS
from ispcore.resolvers.connections import fetch_node, list_nodes
from ispcore.resolvers.mutations import input_values, mutate, non_null, user_errors
from ispcore.schema.errors import UserError
from ispcore.schema.identity import (
    ROLE_LISTING,
    TOKEN_LISTING,
    USER_LISTING,
    CreatePersonalAccessTokenInput,
    CreatePersonalAccessTokenPayload,
    CreateRoleInput,
    CreateUserInput,
    DeleteRoleInput,
    DeleteRolePayload,
    LoginInput,
    LoginPayload,
    LogoutPayload,
    Permission,
    PersonalAccessToken,
    RevokePersonalAccessTokenInput,
    RevokePersonalAccessTokenPayload,
    Role,
    RolePayload,
    UpdateRoleInput,
    UpdateUserInput,
    User,
    UserPayload,
)
from ispcore.schema.nodes import Connection, decode_id, global_id, to_node
from ispcore.schema.permissions import AUTHENTICATED, PUBLIC, requires

UserFilter, UserOrder = USER_LISTING.filter, USER_LISTING.order
RoleFilter, RoleOrder = ROLE_LISTING.filter, ROLE_LISTING.order
TokenFilter, TokenOrder = TOKEN_LISTING.filter, TOKEN_LISTING.order


def _client_ip(info: Info) -> str | None:
    return info.context.actor.ip


@strawberry.type
class IdentityQuery:
    @strawberry.field(extensions=requires(AUTHENTICATED), description="The signed-in user.")
    async def me(self, info: Info) -> User | None:
        user = await info.context.loaders.nodes(User).load(info.context.actor.user_id)
        return User.from_model(user) if user is not None else None

    @strawberry.field(extensions=requires("users:read"))
    async def users(self, info: Info, first: int | None = None, after: str | None = None,
                    filter: UserFilter | None = None,
                    order_by: list[UserOrder] | None = None) -> Connection[User]:
        return await list_nodes(info, User, USER_LISTING, first=first, after=after,
                                filter=filter, order_by=order_by,
                                search=(UserModel.email, UserModel.name))

    @strawberry.field(extensions=requires("users:read"))
    async def user(self, info: Info, id: relay.GlobalID) -> User | None:
        return await fetch_node(info, User, id)

    @strawberry.field(extensions=requires("roles:read"))
    async def roles(self, info: Info, first: int | None = None, after: str | None = None,
                    filter: RoleFilter | None = None,
                    order_by: list[RoleOrder] | None = None) -> Connection[Role]:
        return await list_nodes(info, Role, ROLE_LISTING, first=first, after=after,
                                filter=filter, order_by=order_by, search=(RoleModel.name,))

    @strawberry.field(extensions=requires("roles:read"),
                      description="Every permission a role can hold.")
    def permissions(self) -> list[Permission]:
        return [Permission(name=n, description=d) for n, d in PERMISSIONS.items()]

    @strawberry.field(extensions=requires("tokens:read"),
                      description="The signed-in user's personal access tokens.")
    async def personal_access_tokens(
        self, info: Info, first: int | None = None, after: str | None = None,
        filter: TokenFilter | None = None, order_by: list[TokenOrder] | None = None,
    ) -> Connection[PersonalAccessToken]:
        return await list_nodes(info, PersonalAccessToken, TOKEN_LISTING, first=first,
                                after=after, filter=filter, order_by=order_by,
                                search=(TokenModel.name,))


@strawberry.type
class IdentityMutation:
    @strawberry.mutation(extensions=requires(PUBLIC),
                         description="Exchange email and password for a session token.")
    async def login(self, info: Info, input: LoginInput) -> LoginPayload:
        runtime, ip = info.context.runtime, _client_ip(info)
        attempts = await runtime.rate_limiter.hit(
            f"login:{throttle.address_key(ip)}", runtime.settings.login_attempts_per_minute)
        if not attempts.allowed:  # credential stuffing, even spread over many accounts
            return LoginPayload(errors=[UserError(
                field=None, code=ErrorCode.TOO_MANY_ATTEMPTS,
                message=f"Too many logins from this address; retry in {attempts.retry_after} s.")])
        # Not through `mutate`: a refused login still commits its failure count (throttle).
        async with info.context.unit_of_work("login") as uow:
            try:
                result = await auth.login(uow, email=input.email, password=input.password,
                                          ip=ip)
            except DomainError as exc:
                return LoginPayload(errors=user_errors(exc))
        info.context.user = result.user  # who "own" fields in this payload belong to
        return LoginPayload(token=result.token, expires_at=result.session.expires_at,
                            user=to_node(result.user))

    @strawberry.mutation(extensions=requires(AUTHENTICATED),
                         description="End the current login session.")
    async def logout(self, info: Info) -> LogoutPayload:
        async def work(uow: UnitOfWork) -> dict[str, Any]:
            return {"ended": await auth.logout(uow)}

        return await mutate(info, LogoutPayload, work)

    @strawberry.mutation(extensions=requires("tokens:write"))
    async def create_personal_access_token(
        self, info: Info, input: CreatePersonalAccessTokenInput
    ) -> CreatePersonalAccessTokenPayload:
        async def work(uow: UnitOfWork) -> dict[str, Any]:
            created = await access_tokens.create_token(
                uow, name=input.name, scopes=input.scopes, expires_at=input.expires_at)
            return {"token": created.token, "secret": created.secret}

        return await mutate(info, CreatePersonalAccessTokenPayload, work)

    @strawberry.mutation(extensions=requires("tokens:write"))
    async def revoke_personal_access_token(
        self, info: Info, input: RevokePersonalAccessTokenInput
    ) -> RevokePersonalAccessTokenPayload:
        async def work(uow: UnitOfWork) -> dict[str, Any]:
            token_id = decode_id(input.id, PersonalAccessToken, "id")
            return {"token": await access_tokens.revoke_token(uow, token_id)}

        return await mutate(info, RevokePersonalAccessTokenPayload, work)

    @strawberry.mutation(extensions=requires("users:write"))
    async def create_user(self, info: Info, input: CreateUserInput) -> UserPayload:
        async def work(uow: UnitOfWork) -> dict[str, Any]:
            user = await users.create_user(
                uow, email=input.email, name=input.name, password=input.password,
                role_id=decode_id(input.role_id, Role, "role_id"),
                ip_allowlist=input.ip_allowlist, active=input.active)
            return {"user": user}

        return await mutate(info, UserPayload, work)

    @strawberry.mutation(extensions=requires("users:write"))
    async def update_user(self, info: Info, input: UpdateUserInput) -> UserPayload:
        async def work(uow: UnitOfWork) -> dict[str, Any]:
            changes = input_values(input, exclude=("id",))
            if changes.get("role_id") is not None:
                changes["role_id"] = decode_id(changes["role_id"], Role, "role_id")
            user_id = decode_id(input.id, User, "id")
            return {"user": await users.update_user(uow, user_id, non_null(changes))}

        return await mutate(info, UserPayload, work)

    @strawberry.mutation(extensions=requires("roles:write"))
    async def create_role(self, info: Info, input: CreateRoleInput) -> RolePayload:
        async def work(uow: UnitOfWork) -> dict[str, Any]:
            return {"role": await users.create_role(uow, name=input.name,
                                                    description=input.description,
                                                    permissions=input.permissions)}

        return await mutate(info, RolePayload, work)

    @strawberry.mutation(extensions=requires("roles:write"))
    async def update_role(self, info: Info, input: UpdateRoleInput) -> RolePayload:
        async def work(uow: UnitOfWork) -> dict[str, Any]:
            changes = non_null(input_values(input, exclude=("id",)))
            return {"role": await users.update_role(uow, decode_id(input.id, Role, "id"),
                                                    changes)}

        return await mutate(info, RolePayload, work)

    @strawberry.mutation(extensions=requires("roles:write"))
    async def delete_role(self, info: Info, input: DeleteRoleInput) -> DeleteRolePayload:
        async def work(uow: UnitOfWork) -> dict[str, Any]:
            role = await users.delete_role(uow, decode_id(input.id, Role, "id"))
            return {"deleted_id": global_id(role)}

        return await mutate(info, DeleteRolePayload, work)

