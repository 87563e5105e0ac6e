"""Users and roles."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select

from ispcore.domain.common.errors import (
    Duplicate,
    ErrorCode,
    Forbidden,
    InUse,
    NotFound,
    Validator,
)
from ispcore.domain.common.models import ensure_name_free
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.identity.models import Role, User, UserSession
from ispcore.domain.identity.permissions import ADMIN_ROLE, ALL_PERMISSIONS
from ispcore.domain.identity.secrets import hash_password
from ispcore.domain.identity.validation import (
    check_password,
    check_permissions,
    normalize_allowlist,
    normalize_email,
)


def role_permissions(role: Role) -> frozenset[str]:
    """The built-in admin role holds every permission, including ones added later."""
    if role.built_in and role.name == ADMIN_ROLE:
        return ALL_PERMISSIONS
    return frozenset(role.permissions)


async def ensure_admin_role(uow: UnitOfWork) -> Role:
    role = await uow.session.scalar(select(Role).where(Role.name == ADMIN_ROLE))
    if role is None:
        now = uow.clock.now()
        role = Role(name=ADMIN_ROLE, description="Every permission", permissions=[],
                    built_in=True, created_at=now, updated_at=now)
        uow.session.add(role)
        await uow.session.flush()
    return role


def _check_grantable(uow: UnitOfWork, permissions: frozenset[str] | list[str], field: str,
                     what: str) -> None:
    """Nobody hands out (or takes over) more than they hold: the rule token scopes follow,
    applied to roles and users too."""
    actor = uow.actor
    beyond = sorted(p for p in permissions if not actor.can(p))
    if beyond:
        raise Forbidden(f"{what} needs permissions you lack: {', '.join(beyond)}.",
                        field=field)


async def end_sessions(uow: UnitOfWork, user_id: int) -> None:
    """Revoke every open login session of a user (after a password change)."""
    open_sessions = await uow.session.scalars(
        select(UserSession).where(UserSession.user_id == user_id,
                                  UserSession.revoked_at.is_(None)))
    for session in open_sessions:
        session.revoked_at = uow.clock.now()


async def purge_sessions(uow: UnitOfWork, ended_before: timedelta) -> int:
    """Delete login sessions that expired or were revoked longer ago than ``ended_before``
    (their audit entries stay); returns how many."""
    cutoff = uow.clock.now() - ended_before
    result = await uow.session.execute(
        delete(UserSession).where(or_(UserSession.expires_at < cutoff,
                                      UserSession.revoked_at < cutoff)))
    return result.rowcount or 0


async def get_role(uow: UnitOfWork, role_id: int, field: str = "role_id") -> Role:
    role = await uow.session.get(Role, role_id)
    if role is None:
        raise NotFound("No such role.", field=field)
    return role


async def get_role_by_name(uow: UnitOfWork, name: str) -> Role:
    role = await uow.session.scalar(select(Role).where(Role.name == name))
    if role is None:
        raise NotFound(f"No role named {name!r}.", field="role")
    return role


async def get_user(uow: UnitOfWork, user_id: int, field: str = "id") -> User:
    user = await uow.session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.", field=field)
    return user


async def _check_email_free(uow: UnitOfWork, email: str, exclude_id: int | None = None
                            ) -> None:
    """Emails are stored canonical (lower case), so the unique constraint covers case."""
    stmt = select(User.id).where(User.email == email)
    if exclude_id is not None:
        stmt = stmt.where(User.id != exclude_id)
    if await uow.session.scalar(stmt) is not None:
        raise Duplicate(f"{email!r} is already taken.", field="email")


async def create_role(uow: UnitOfWork, *, name: str, description: str = "",
                      permissions: list[str]) -> Role:
    v = Validator()
    name = name.strip()
    if not name:
        v.add("name", "A role needs a name.", ErrorCode.REQUIRED)
    permissions = check_permissions(v, permissions, "permissions")
    v.fit_columns(Role, {"name": name, "description": description})
    v.raise_if_any()
    _check_grantable(uow, permissions, "permissions", "A role with these permissions")
    await ensure_name_free(uow.session, Role, name, what="role")
    now = uow.clock.now()
    role = Role(name=name, description=description, permissions=permissions, built_in=False,
                created_at=now, updated_at=now)
    uow.session.add(role)
    await uow.session.flush()
    return role


async def update_role(uow: UnitOfWork, role_id: int, changes: dict[str, Any]) -> Role:
    role = await get_role(uow, role_id, field="id")
    if role.built_in:
        raise InUse("Built-in roles cannot be changed.", field="id")
    _check_grantable(uow, role_permissions(role), "id", "Changing this role")
    v = Validator()
    if "permissions" in changes:
        changes["permissions"] = check_permissions(v, changes["permissions"], "permissions")
    if "name" in changes:
        changes["name"] = changes["name"].strip()
        if not changes["name"]:
            v.add("name", "A role needs a name.", ErrorCode.REQUIRED)
    v.fit_columns(Role, changes)
    v.raise_if_any()
    if "permissions" in changes:
        _check_grantable(uow, changes["permissions"], "permissions",
                         "A role with these permissions")
    if "name" in changes:
        await ensure_name_free(uow.session, Role, changes["name"], what="role",
                               exclude_id=role.id)
    for key, value in changes.items():
        setattr(role, key, value)
    role.updated_at = uow.clock.now()
    await uow.session.flush()
    return role


async def delete_role(uow: UnitOfWork, role_id: int) -> Role:
    role = await get_role(uow, role_id, field="id")
    if role.built_in:
        raise InUse("Built-in roles cannot be deleted.", field="id")
    _check_grantable(uow, role_permissions(role), "id", "Deleting this role")
    holders = await uow.session.scalar(select(func.count()).where(User.role_id == role.id))
    if holders:
        raise InUse(f"{holders} user(s) still hold this role.", field="id")
    await uow.session.delete(role)
    await uow.session.flush()
    return role


async def create_user(uow: UnitOfWork, *, email: str, name: str, password: str, role_id: int,
                      ip_allowlist: list[str] | None = None, active: bool = True) -> User:
    v = Validator()
    email = normalize_email(v, email)
    if not name.strip():
        v.add("name", "A user needs a name.", ErrorCode.REQUIRED)
    check_password(v, password, min_length=uow.settings.password_min_length,
                   personal=(email, name))
    allowlist = normalize_allowlist(v, ip_allowlist or [])
    v.fit_columns(User, {"email": email, "name": name.strip()})
    v.raise_if_any()
    role = await get_role(uow, role_id)
    _check_grantable(uow, role_permissions(role), "role_id", "Giving this role")
    await _check_email_free(uow, email)
    now = uow.clock.now()
    user = User(email=email, name=name.strip(), password_hash=await hash_password(password),
                active=active, role_id=role_id, ip_allowlist=allowlist, created_at=now,
                updated_at=now)
    uow.session.add(user)
    await uow.session.flush()
    return user


async def update_user(uow: UnitOfWork, user_id: int, changes: dict[str, Any]) -> User:
    user = await get_user(uow, user_id)
    current_role = await get_role(uow, user.role_id)
    _check_grantable(uow, role_permissions(current_role), "id", "Changing this user")
    v = Validator()
    if "email" in changes:
        changes["email"] = normalize_email(v, changes["email"])
    if "name" in changes:
        changes["name"] = changes["name"].strip()
        if not changes["name"]:
            v.add("name", "A user needs a name.", ErrorCode.REQUIRED)
    if "ip_allowlist" in changes:
        changes["ip_allowlist"] = normalize_allowlist(v, changes["ip_allowlist"])
    if "password" in changes:
        check_password(v, changes["password"], min_length=uow.settings.password_min_length,
                       personal=(changes.get("email", user.email),
                                 changes.get("name", user.name)))
    v.fit_columns(User, changes)
    v.raise_if_any()
    if "role_id" in changes:
        new_role = await get_role(uow, changes["role_id"])
        _check_grantable(uow, role_permissions(new_role), "role_id", "Giving this role")
    if "email" in changes:
        await _check_email_free(uow, changes["email"], exclude_id=user.id)
    if "password" in changes:
        user.password_hash = await hash_password(changes.pop("password"))
        await end_sessions(uow, user.id)  # whoever knew the old password is signed out
    for key, value in changes.items():
        setattr(user, key, value)
    user.updated_at = uow.clock.now()
    await uow.session.flush()
    return user
