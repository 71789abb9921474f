"""The gRPC APIs: TF Serving's PredictionService and ModelService, the Open Inference
Protocol's GRPCInferenceService, health and reflection, over the same dataplane as REST.

Start with :mod:`.server` (``grpc_lifespan``, ``build_grpc_server``); :mod:`.tfserving` and
:mod:`.v2` are the servicers, :mod:`.tf_tensors` and :mod:`.v2_tensors` the tensor codecs.
"""
