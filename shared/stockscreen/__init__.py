"""Stockscreen domain package: configuration, data access and business rules.

Nothing here imports from ``functions/`` or ``devstack/``; they import from here.
"""

__version__ = "0.1.0"
