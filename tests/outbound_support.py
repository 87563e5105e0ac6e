"""What every outbound setting (Preseem's, SMTP's, the SMS provider's, Stripe's addresses) is
tested with: the hosts the SSRF guard must refuse, and the word its refusal gives."""

from __future__ import annotations

#: (host, the reason the refusal names)
REFUSED_HOSTS = [
    ("169.254.169.254", "metadata"),
    ("127.0.0.1", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.5.5", "private"),
    ("192.168.0.10", "private"),
    ("::1", "loopback"),
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:169.254.169.254", "metadata"),
    ("localhost", "loopback"),  # a name that resolves to a private address
]
#: A literal public address: no DNS needed (none answers here).
PUBLIC_HOST = "93.184.215.14"


def in_url(host: str) -> str:
    """``host`` as a URL writes it (IPv6 in brackets)."""
    return f"[{host}]" if ":" in host else host
