"""Wire formats to named numpy arrays and back, below everything that serves.

One module per format: TensorFlow's ``TensorProto``, the Open Inference Protocol's JSON,
binary and gRPC tensors, TF Serving's JSON bodies, ``tf.Example`` lists; one dtype table they
all share (:mod:`.dtypes`); conforming arrays to a signature (:mod:`.conform`); status and
metadata as TF Serving's and the Open Inference Protocol's messages (:mod:`.metadata`).
Codecs know nothing of HTTP, gRPC servers, the registry or the runtimes.
"""
