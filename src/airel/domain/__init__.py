"""The pure domain: frozen records, enums, rules as data. No I/O, no SQLAlchemy, no Typer."""
