"""detente.population."""
