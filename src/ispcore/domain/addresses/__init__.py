"""Serviceable addresses (pre-qualified before any account), who lives where, postal addresses."""
