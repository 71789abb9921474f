"""JSON Schemas shipped with modelship: ``modelship.schema.json`` describes ``modelship.json``."""
