"""Persona script format: pydantic models, YAML loader with line numbers, static checks and graphs."""
