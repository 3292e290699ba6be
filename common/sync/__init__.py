"""Store-and-forward sync between a node and its parent (DESIGN.md "Sync").

Owns routing (which neighbour needs an event), the per-link outbox and cursors, the
receiving side (verify, hold back, dead-letter, quarantine, in one transaction per
batch), the child's client (push, pull, blobs, clock correction), the scheduler with
backoff, and the telemetry parents keep about their children.
"""
