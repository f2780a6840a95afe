"""The home page and the health check."""
