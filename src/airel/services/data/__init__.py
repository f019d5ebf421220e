"""Data use cases: profile datasets and run validations."""
