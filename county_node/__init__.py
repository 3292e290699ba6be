"""The county node: the root of the reference network. It keeps the catalogue, the
working-day calendar, the registry of nodes and the users, and decides county-level
matters at its integrated windows and departments.

Thin on purpose: the tier says which routers and roles it mounts and its defaults;
the engine is common/.
"""
