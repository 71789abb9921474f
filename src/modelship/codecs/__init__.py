"""Wire formats to named numpy arrays and back, below everything that serves.
Codecs know nothing of HTTP, gRPC servers, the registry or the runtimes.
"""
