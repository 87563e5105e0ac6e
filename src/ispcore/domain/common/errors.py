"""Domain failures with a stable code, turned into `UserError`s by the API layer."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    NOT_FOUND = "NOT_FOUND"
    DUPLICATE = "DUPLICATE"
    IN_USE = "IN_USE"
    FORBIDDEN = "FORBIDDEN"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    PASSWORD_TOO_WEAK = "PASSWORD_TOO_WEAK"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"
    #: Nothing left to hand out (an IP pool or subnet with no free address).
    EXHAUSTED = "EXHAUSTED"
    #: A payment processor could not be asked (not configured, or not answering).
    PROCESSOR_UNAVAILABLE = "PROCESSOR_UNAVAILABLE"
    #: A usage record refused (``ingestUsage``): why, so middleware can tell what to drop.
    END_BEFORE_START = "END_BEFORE_START"
    NEGATIVE_BYTES = "NEGATIVE_BYTES"
    ABSURD_BYTES = "ABSURD_BYTES"
    IN_FUTURE = "IN_FUTURE"
    TOO_OLD = "TOO_OLD"
    #: A name (an address, a username) that more than one account held at the time.
    AMBIGUOUS = "AMBIGUOUS"


class DomainError(Exception):
    """A rule said no. ``field`` names the input field (snake_case) at fault, if one is."""

    code: ErrorCode = ErrorCode.INVALID

    def __init__(self, message: str, *, field: str | None = None, code: ErrorCode | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code

    @property
    def errors(self) -> list[DomainError]:
        return [self]


class NotFound(DomainError):
    code = ErrorCode.NOT_FOUND


class Duplicate(DomainError):
    code = ErrorCode.DUPLICATE


class InUse(DomainError):
    code = ErrorCode.IN_USE


class Forbidden(DomainError):
    code = ErrorCode.FORBIDDEN


class InvalidInput(DomainError):
    """Several field errors found at once, so the caller can fix them in one go."""

    def __init__(self, errors: list[DomainError]):
        super().__init__("; ".join(e.message for e in errors))
        self._errors = errors

    @property
    def errors(self) -> list[DomainError]:
        return self._errors


class Validator:
    """Collects field errors; ``raise_if_any`` raises them together."""

    def __init__(self) -> None:
        self.errors: list[DomainError] = []

    def add(self, field: str, message: str, code: ErrorCode = ErrorCode.INVALID) -> None:
        self.errors.append(DomainError(message, field=field, code=code))

    def fit_columns(self, model: type, values: dict[str, Any]) -> None:
        """Text longer than its column is an input error, not a database failure."""
        columns = model.__table__.columns  # type: ignore[attr-defined]
        already = {e.field for e in self.errors}
        for name, value in values.items():
            if name in already:
                continue
            length = getattr(columns[name].type, "length", None) if name in columns else None
            if isinstance(value, str) and length is not None and len(value) > length:
                self.add(name, f"At most {length} characters.")

    def raise_if_any(self) -> None:
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise InvalidInput(self.errors)


def nested(exc: DomainError, prefix: str) -> DomainError:
    """``exc`` with its fields under ``prefix`` (``name`` -> ``primary_contact.name``), for
    errors of a nested input."""
    errors = [DomainError(e.message, field=f"{prefix}.{e.field}" if e.field else prefix,
                          code=e.code) for e in exc.errors]
    return errors[0] if len(errors) == 1 else InvalidInput(errors)
