"""Safeguard: find known abuse imagery by hash matching, and help the people who fight it."""

__version__ = "0.1.0"
