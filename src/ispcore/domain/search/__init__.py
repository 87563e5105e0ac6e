"""Global search over accounts, contacts and addresses (later IPs and MACs)."""
