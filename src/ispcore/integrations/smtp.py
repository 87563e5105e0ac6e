"""SMTP: one connection to a company's mail server (aiosmtplib), over which a batch of emails
is sent, and the server's answers sorted into worth-retrying or refused-for-good.

Connecting, TLS, logging in and a connection lost half-way are *transient*: the server may be
back, or the settings fixed, by the next attempt. During a message, a 4xx answer is transient
and a 5xx answer (recipient unknown, message refused) is permanent (RFC 5321, 4.2.1).

The connection is opened through the SSRF guard (:func:`ispcore.integrations.connect.
tcp_socket`): to the checked address of the host, the host's name kept for TLS."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from email.message import EmailMessage
from types import TracebackType

import aiosmtplib

from ispcore.domain.common.outbound import RefusedAddress
from ispcore.domain.messaging.transport_models import SmtpSecurity
from ispcore.integrations.connect import tcp_socket


class SmtpFailed(Exception):
    """The email was not accepted. ``transient``: try again later; ``broken``: the connection
    is gone, so the rest of the batch cannot be sent over it either."""

    def __init__(self, message: str, *, transient: bool, broken: bool = False) -> None:
        super().__init__(message)
        self.message = message[:1000]
        self.transient = transient
        self.broken = broken


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    security: SmtpSecurity
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    #: Whether the SSRF guard lets the connection reach a private address.
    allow_private: bool = False


def _answer(code: int, message: str) -> str:
    return f"{code} {message}".strip()


class SmtpConnection:
    """``async with SmtpConnection(server) as smtp: await smtp.send(message)``."""

    def __init__(self, server: SmtpServer) -> None:
        self.server = server
        self._client = aiosmtplib.SMTP(
            hostname=server.host, timeout=server.timeout,  # the port: the socket's
            use_tls=server.security == SmtpSecurity.TLS,
            start_tls=server.security == SmtpSecurity.STARTTLS,
            username=server.username or None, password=server.password or None)

    async def __aenter__(self) -> SmtpConnection:
        where = f"{self.server.host}:{self.server.port}"
        try:
            async with asyncio.timeout(self.server.timeout):
                sock = await tcp_socket(self.server.host, self.server.port,
                                        allow_private=self.server.allow_private)
            await self._client.connect(sock=sock)
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise SmtpFailed(f"{where} refused the login: {_answer(exc.code, exc.message)}",
                             transient=True, broken=True) from None
        except aiosmtplib.SMTPResponseException as exc:
            raise SmtpFailed(f"{where}: {_answer(exc.code, exc.message)}", transient=True,
                             broken=True) from None
        except (aiosmtplib.SMTPException, RefusedAddress, OSError) as exc:
            raise SmtpFailed(f"Cannot connect to {where}: {exc}", transient=True,
                             broken=True) from None
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._client.is_connected:
            try:
                await self._client.quit()
            except (aiosmtplib.SMTPException, OSError):
                self._client.close()

    async def send(self, message: EmailMessage) -> None:
        """Send ``message`` to its To address; raise :class:`SmtpFailed` if not accepted."""
        try:
            await self._client.send_message(message)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients[0]
            raise SmtpFailed(f"Recipient refused: {_answer(refused.code, refused.message)}",
                             transient=refused.code < 500) from None
        except aiosmtplib.SMTPServerDisconnected as exc:
            raise SmtpFailed(f"The server closed the connection: {exc}", transient=True,
                             broken=True) from None
        except aiosmtplib.SMTPResponseException as exc:
            raise SmtpFailed(_answer(exc.code, exc.message), transient=exc.code < 500) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise SmtpFailed(f"Sending failed: {exc}", transient=True, broken=True) from None
        except ValueError as exc:  # an address aiosmtplib will not put on the wire
            raise SmtpFailed(f"Not sendable: {exc}", transient=False) from None
