"""Kernel services: the context every use case runs in."""
