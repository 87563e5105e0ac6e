"""Adapters for the embedded (in-memory) and scaled (Redis) modes."""
