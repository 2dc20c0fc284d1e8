"""Lists exchanged between Safeguard instances: following another's list feed."""
