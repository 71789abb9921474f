"""Every protobuf message modelship reads or writes: TF Serving's and the Open Inference
Protocol's APIs, tf.Example and TensorProto, and TF Serving's config files.

The ``*_pb2`` modules are generated from the ``.proto`` files beside them by
``scripts/gen-protos.sh`` (``make protos``); edit the ``.proto`` files, not them.

Every generated module registers its descriptors in :data:`POOL`, a descriptor pool of
modelship's own: the default pool may already hold other definitions of the same names
(TensorFlow's, tensorflow-serving-api's, tritonclient's), and a pool refuses duplicates.
"""

from google.protobuf import any_pb2, descriptor_pool, wrappers_pb2

POOL = descriptor_pool.DescriptorPool()
# The well-known types that modelship's .proto files import.
for _module in (any_pb2, wrappers_pb2):
    POOL.AddSerializedFile(_module.DESCRIPTOR.serialized_pb)
