"""serving/rest"""
