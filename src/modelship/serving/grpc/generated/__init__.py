"""Code generated from ../protos by scripts/gen-protos.sh; edit the .proto files, not this.

Every generated module registers its descriptors in :data:`POOL`, a descriptor pool of
modelship's own: the default pool may already hold other definitions of the same names
(TensorFlow's, tensorflow-serving-api's, tritonclient's), and a pool refuses duplicates.
"""

from google.protobuf import any_pb2, descriptor_pool, wrappers_pb2

POOL = descriptor_pool.DescriptorPool()
# The well-known types that modelship's .proto files import.
for _module in (any_pb2, wrappers_pb2):
    POOL.AddSerializedFile(_module.DESCRIPTOR.serialized_pb)
