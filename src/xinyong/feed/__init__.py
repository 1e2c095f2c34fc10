"""The change feed: what changed in subjects' active measures, for partners to hear of.

``changes`` writes the feed (in the same transaction as the evaluated state), ``events``
shapes it as CloudEvents, and ``webhooks`` and ``nats`` deliver it from an outbox cursor.
"""
