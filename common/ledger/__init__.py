"""The append-only, signed, hash-chained ledger every node keeps.

Owns the event envelope (DESIGN.md "The ledger"), its canonical bytes, signing and
verification, the per-author and per-subject chains with fork detection, the events
table, and the projection registry that turns events into the tables screens read.
"""
