"""Blobs: the uploaded files behind case materials (scans, photos, OFD/PDF documents).

Files are content-addressed: stored once under ``blob_dir/ab/cdef...`` by their
SHA-256, written to a temporary file and renamed into place, checked against their
hash when read. The local ``blobs`` table says which ones this node holds; it is not
a projection (files do not travel in events, only their hashes do). Only PDF, OFD,
JPEG and PNG are taken, recognised by their first bytes, not by what the client says.
"""
