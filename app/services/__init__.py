"""Request-level logic between the routers and the engine."""
