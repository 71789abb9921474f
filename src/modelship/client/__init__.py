"""Clients for modelship's (and TensorFlow Serving's) APIs."""

from modelship.client.rest import AsyncClient, Client, ServerError, b64_image, top_class

__all__ = ["AsyncClient", "Client", "ServerError", "b64_image", "top_class"]
