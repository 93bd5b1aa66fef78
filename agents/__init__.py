"""detente.agents."""
