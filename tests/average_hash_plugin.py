"""Registers the average hash (see ``average_hash``), as a deployment's plugin would."""

from average_hash import AverageHash

from safeguard.signals import register

register(AverageHash())
