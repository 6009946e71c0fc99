"""Blueprints and HTTP plumbing of the API (routes only; rules live in ``stockscreen``)."""
