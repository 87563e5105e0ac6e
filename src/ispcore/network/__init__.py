"""Adapters that speak network protocols: the RADIUS server and CoA client."""
