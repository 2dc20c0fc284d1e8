"""Benign demo material, drawn by code: nothing here is, or depicts, a person."""
