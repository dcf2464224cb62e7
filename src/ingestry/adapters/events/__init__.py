"""Event handler adapters that talk to the outside (Redis fan-out)."""
