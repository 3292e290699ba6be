"""A village agency point (村代办点): agents file cases for residents, often
offline, and deliver results back.

Thin on purpose: the tier says which routers and roles it mounts and its defaults;
the engine is common/.
"""
