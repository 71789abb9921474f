"""Clients for modelship's (and TensorFlow Serving's) APIs."""

from modelship.client.rest import AsyncClient, Client, ServerError, top_class

__all__ = ["AsyncClient", "Client", "ServerError", "top_class"]
