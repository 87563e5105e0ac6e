from tests.peers.radius_support import radius, radius_vault_key, seeded  # noqa: F401
