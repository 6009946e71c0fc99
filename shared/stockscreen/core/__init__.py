"""The small core every feature stands on.

Settings, clients, the response cache, rate limits, errors, observability, paging, policy,
audit and the OpenAPI builder. Nothing here imports a feature.
"""
