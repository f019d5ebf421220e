"""Adapters: parsing, blob storage and other I/O at the boundary of the domain."""
