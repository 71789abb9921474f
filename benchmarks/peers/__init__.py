"""Servers the benchmark compares modelship with: reference ASGI apps, MLServer, LitServe."""
