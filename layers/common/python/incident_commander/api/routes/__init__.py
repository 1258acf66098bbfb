"""Route modules, one per area; each exposes `register(ctx)`."""
