"""The service-matter catalogue (事项目录) and its publication in batches.

Owns the shape of a matter (``schema``), county-local draft matters that an
administrator imports from spreadsheets (``MatterDraft``, never travels), the signed
catalogue record (subject ``catalogue``: ``catalogue.batch_published`` and
``catalogue.matter_withdrawn`` events written only by the root) and its projection
(``CatalogueBatch``, ``PublishedMatter``), XLSX/CSV/JSON import and export (``io``),
the "at most one trip" share, the HTTP endpoints and the ``onetrip catalogue`` CLI.
"""
