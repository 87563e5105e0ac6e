"""What can go wrong with an SNMP request, as types the poller and the API can tell apart."""

from __future__ import annotations


class SnmpError(Exception):
    """The agent answered with an error status (noSuchName, tooBig, genErr, ...), or the
    base of the other failures."""

    code = "SNMP_ERROR"

    def __init__(self, message: str, *, status: int = 0, index: int = 0) -> None:
        super().__init__(message)
        self.status = status
        self.index = index


class SnmpTimeout(SnmpError):
    """No answer within timeout x (retries + 1). Also how a wrong v2c community shows: the
    agent drops the request."""

    code = "TIMEOUT"


class SnmpAuthError(SnmpError):
    """SNMPv3: unknown user, wrong digest, decryption failed (the agent's usmStats reports)."""

    code = "AUTH_FAILED"


class SnmpProtocolError(SnmpError):
    """The reply could not be decoded, or does not match the request."""

    code = "PROTOCOL_ERROR"


class InvalidOid(SnmpError, ValueError):
    """A malformed OID, refused before anything is sent."""

    code = "INVALID_OID"
