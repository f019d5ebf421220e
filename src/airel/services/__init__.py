"""Services: one use case each, over the Store contract. No CLI, HTTP or SQL here."""
