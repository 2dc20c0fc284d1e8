"""The match service: an HTTP front door for platforms (``safeguard serve``).

Uploads and hashes in, matches and an action out, with scoped keys, rate and
size limits, a hash-chained audit log and signed webhooks. Every worker process
follows the store by revision, so a list change is live everywhere in under a
second without an index rebuild.
"""
