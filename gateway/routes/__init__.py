"""The routes, grouped by who uses them; ``gateway.service`` composes them into one
nameko service (nameko collects entrypoints and dependencies through the classes'
inheritance)."""
