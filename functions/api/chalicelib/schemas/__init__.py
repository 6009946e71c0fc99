"""The pydantic models of the API edge (request bodies, query strings, responses), one module per blueprint.

The blueprints reach them through :class:`chalicelib.lazy.LazyModule`: nothing here is imported at cold start.
"""
