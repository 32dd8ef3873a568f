"""Connects the organiser's box office to the resellers that sell its inventory."""

__version__ = "0.1.0"
