"""Adapters to outside HTTP APIs (payment processors, …), each implementing a domain port."""
