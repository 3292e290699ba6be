"""A node's safety net: the database integrity check (at start and in ``/healthz``) and
``onetrip backup`` / ``onetrip restore`` of a whole data directory (database, key,
settings, stored files).

A restored node has lost what it wrote after the backup; it takes that back from its
parent before it writes again (``common.sync.recovery``).
"""
