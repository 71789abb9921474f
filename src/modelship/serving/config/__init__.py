"""Schemas of the server's config files; the ``*_pb2`` modules are generated (make protos)."""
