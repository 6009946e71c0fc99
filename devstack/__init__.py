"""Local reproduction of the AWS runtime: services, gateway, moto, CLI.

This is an edge layer like ``functions/``: it imports from ``stockscreen`` and loads the
function handlers; nothing in ``stockscreen`` imports from here.
"""
