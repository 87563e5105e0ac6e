"""A company's email (SMTP) and SMS settings: reading, validating and changing them. The SMTP
password and the SMS auth token are sealed with the vault key and never shown again."""

from __future__ import annotations

import ipaddress
import re
import uuid
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select

from ispcore.domain.common import outbound, vault
from ispcore.domain.common.errors import ErrorCode, Validator
from ispcore.domain.common.records import company_of
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_event
from ispcore.domain.messaging.models import Channel, OutboundMessage
from ispcore.domain.messaging.outbox import queue_message
from ispcore.domain.messaging.transport_models import (
    EmailSettings,
    SmsProviderKind,
    SmsSettings,
    SmtpSecurity,
)

PASSWORDS = "SMTP passwords"
TOKENS = "SMS provider tokens"
_HOST = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                   r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_SENDER_ID = re.compile(r"^([0-9]{3,8}|[A-Za-z0-9 ]{1,11})$")  # a short code or alphanumeric id


def email_address(v: Validator, field: str, value: str | None) -> str:
    """``value`` as a normalised email address; an error on ``field`` if it is not one."""
    try:
        return validate_email((value or "").strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        v.add(field, f"Not a valid email address: {exc}")
        return value or ""


def _host(v: Validator, field: str, value: str | None) -> str:
    text = (value or "").strip().lower().rstrip(".")
    if not _HOST.match(text):
        v.add(field, "A host name or an IP address, e.g. smtp.example.com.")
    return text


async def _mail_server(uow: UnitOfWork, v: Validator, value: str | None) -> str:
    """A host name or an IP address (IPv6 too) that passes the SSRF guard."""
    text = (value or "").strip()
    try:
        host = str(ipaddress.ip_address(text.removeprefix("[").removesuffix("]")))
    except ValueError:
        known = len(v.errors)
        host = _host(v, "smtp_host", text)
        if len(v.errors) > known:  # not a host name either
            return host
    await outbound.vet(v, outbound.check_host(
        host, allow_private=uow.settings.webhooks_allow_private, field="smtp_host"))
    return host


def _text(v: Validator, values: dict[str, Any], key: str, limit: int) -> str | None:
    value = values.get(key)
    if value is None:
        return None
    value = value.strip()
    if len(value) > limit:
        v.add(key, f"At most {limit} characters.")
    return value


async def email_settings(uow: UnitOfWork, company_id: int) -> EmailSettings | None:
    return await uow.session.scalar(select(EmailSettings)
                                    .where(EmailSettings.company_id == company_id))


async def sms_settings(uow: UnitOfWork, company_id: int) -> SmsSettings | None:
    return await uow.session.scalar(select(SmsSettings).where(SmsSettings.company_id == company_id))


async def update_email_settings(uow: UnitOfWork, company_id: int, values: dict[str, Any]
                                ) -> EmailSettings:
    """Create or change a company's SMTP settings. Omitted fields stay; new settings need the
    host and the from address (port 587 with STARTTLS unless said). A username needs a
    password; an empty password removes it (with the username)."""
    await company_of(uow, company_id)
    row = await email_settings(uow, company_id)
    v = Validator()
    changes: dict[str, Any] = {}
    if values.get("smtp_host") is not None or row is None:
        changes["smtp_host"] = await _mail_server(uow, v, values.get("smtp_host"))
    if values.get("security") is not None:
        changes["security"] = SmtpSecurity(values["security"]).value
    if values.get("smtp_port") is not None:
        if not 1 <= values["smtp_port"] <= 65535:
            v.add("smtp_port", "A port from 1 to 65535.")
        changes["smtp_port"] = values["smtp_port"]
    if values.get("from_address") is not None or row is None:
        changes["from_address"] = email_address(v, "from_address", values.get("from_address"))
    if values.get("reply_to") is not None:
        changes["reply_to"] = (email_address(v, "reply_to", values["reply_to"])
                               if values["reply_to"].strip() else None)
    if values.get("domain") is not None:
        changes["domain"] = _host(v, "domain", values["domain"])
    for key, limit in (("from_name", 200), ("username", 255)):
        text = _text(v, values, key, limit)
        if text is not None:
            changes[key] = text if key == "from_name" else (text or None)
    if values.get("active") is not None:
        changes["active"] = bool(values["active"])
    password = values.get("password")
    if password is not None and len(password) > 500:
        v.add("password", "At most 500 characters.")
    username = changes.get("username", row.username if row else None)
    has_password = bool(password) or (password is None and row is not None
                                      and row.password_sealed is not None)
    if username and not has_password:
        v.add("password", "A username needs a password.", ErrorCode.REQUIRED)
    v.raise_if_any()
    if password is not None:
        changes["password_sealed"] = (vault.seal(uow.settings.vault_key, password,
                                                 field="password", what=PASSWORDS)
                                      if password else None)
    if "domain" not in changes and (row is None or ("from_address" in changes
                                    and row.domain == row.from_address.rpartition("@")[2])):
        changes["domain"] = changes["from_address"].rpartition("@")[2].lower()
    return await _save(uow, EmailSettings, row, company_id, changes, values,
                       "email_settings.updated", defaults={
        "smtp_port": 587, "security": SmtpSecurity.STARTTLS.value, "from_name": "",
        "active": True})


async def update_sms_settings(uow: UnitOfWork, company_id: int, values: dict[str, Any]
                              ) -> SmsSettings:
    """Create or change a company's SMS provider. Twilio needs the account SID and the auth
    token; the log-only provider needs neither. Omitted fields stay."""
    await company_of(uow, company_id)
    row = await sms_settings(uow, company_id)
    v = Validator()
    changes: dict[str, Any] = {}
    if values.get("provider") is not None or row is None:
        changes["provider"] = SmsProviderKind(
            values.get("provider") or SmsProviderKind.LOG_ONLY).value
    if values.get("from_number") is not None or row is None:
        number = (values.get("from_number") or "").strip()
        if number.startswith("+"):
            number = number.replace(" ", "").replace("-", "")
        if not (_E164.match(number) or _SENDER_ID.match(number)):
            v.add("from_number", "An E.164 number (+13125550100), a short code or a sender id "
                                 "of at most 11 letters and digits.")
        changes["from_number"] = number
    sid = _text(v, values, "account_sid", 100)
    if sid is not None:
        changes["account_sid"] = sid or None
    if values.get("active") is not None:
        changes["active"] = bool(values["active"])
    token = values.get("auth_token")
    if token is not None and len(token) > 500:
        v.add("auth_token", "At most 500 characters.")
    provider = changes.get("provider", row.provider if row else None)
    if provider == SmsProviderKind.TWILIO:
        if not changes.get("account_sid", row.account_sid if row else None):
            v.add("account_sid", "Twilio needs the account SID.", ErrorCode.REQUIRED)
        if not token and (token is not None or row is None or row.auth_token_sealed is None):
            v.add("auth_token", "Twilio needs the auth token.", ErrorCode.REQUIRED)
    v.raise_if_any()
    if token is not None:
        changes["auth_token_sealed"] = (vault.seal(uow.settings.vault_key, token,
                                                   field="auth_token", what=TOKENS)
                                        if token else None)
    return await _save(uow, SmsSettings, row, company_id, changes, values,
                       "sms_settings.updated", defaults={"active": True})


async def _save(uow: UnitOfWork, model: type[Any], row: Any, company_id: int,
                changes: dict[str, Any], values: dict[str, Any], event_type: str, *,
                defaults: dict[str, Any]) -> Any:
    """Create the company's settings row (``defaults`` under ``changes``) or change it, and
    record ``event_type`` with the fields the caller gave."""
    now = uow.clock.now()
    if row is None:
        row = model(company_id=company_id, created_at=now, **{**defaults, **changes})
        uow.session.add(row)
    else:
        for name, value in changes.items():
            setattr(row, name, value)
    row.updated_at = now
    await uow.session.flush()
    record_event(uow, event_type, company_id=company_id, entity=row,
                 payload={"changed": sorted(k for k, value in values.items() if value is not None)})
    return row


async def send_test_email(uow: UnitOfWork, company_id: int, to: str) -> OutboundMessage:
    """Queue a short email to ``to`` through the company's settings; the sent log then shows
    whether the server took it (or why not)."""
    company = await company_of(uow, company_id)
    v = Validator()
    to = email_address(v, "to", to)
    settings = await email_settings(uow, company_id)
    if settings is None:
        v.add("company_id", "The company has no email settings yet.", ErrorCode.REQUIRED)
    elif not settings.active:
        v.add("company_id", "The company's email settings are not active.")
    v.raise_if_any()
    return await queue_message(
        uow, company_id=company_id, channel=Channel.EMAIL, recipient=to, origin="test",
        origin_key=f"test-email:{uuid.uuid4().hex}", subject=f"Test email from {company.name}",
        body_text=f"This is a test email from {company.name}, sent by ispcore to check the "
                  "company's email settings.")
