"""Connects the organiser's box office to ticket resellers (FNAC first)."""

__version__ = "0.1.0"
