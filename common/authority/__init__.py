"""The authority policy: who may write what, who may do what, who may read what.

One place that action functions, ingest, rebuild, ``onetrip verify``, licence
verification, endpoints and screens all ask, never re-derive:

- ``events``: for every subject kind and event kind, which node may author it (checked
  at append, ingest, rebuild and verify); a new record kind declares its rule there.
- ``actions``: which actions a user may take on a case now (every action function
  checks it; screens offer exactly what it allows).
- ``reading``: whether a user may read a case and everything hanging off it (files,
  clocks, custody, procedures, licences).
"""
