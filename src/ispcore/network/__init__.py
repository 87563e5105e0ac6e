"""Adapters that speak network protocols: the RADIUS server and CoA client, the NetFlow
v5/v9/IPFIX decoder."""
