"""serving/grpc"""
