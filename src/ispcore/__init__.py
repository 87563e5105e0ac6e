"""ispcore: GraphQL-API-first operations and billing backend for Internet Service Providers."""

__version__ = "0.1.0"
