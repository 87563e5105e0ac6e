"""The built-in RADIUS server (``ispcore radius``) and the RFC 5176 CoA/Disconnect client."""
