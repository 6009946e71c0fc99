"""The one authorization table: which roles may use each feature, and each role's quotas.

Everything that decides "may this caller do that" reads from here: the route decorator
(``feature=``), the services enforcing quotas, and the authorization-matrix test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from stockscreen.core.errors import Forbidden

Role = Literal["free", "premium", "admin"]
ROLES: tuple[Role, ...] = ("free", "premium", "admin")
ANONYMOUS = "anonymous"

_USERS = frozenset({"free", "premium", "admin"})
_PAID = frozenset({"premium", "admin"})
_ADMIN = frozenset({"admin"})
_EVERYONE = frozenset({ANONYMOUS, *_USERS})

FEATURES: dict[str, frozenset[str]] = {
    "market.read": _EVERYONE,  # securities, bars, quotes, field catalogue, health, docs
    "screens.run": _EVERYONE,
    "screens.save": _USERS,
    "fields.all": _PAID,  # every screener field; free users get the basic ones
    "backtests": _PAID,
    "export.csv": _PAID,
    "api_keys": _PAID,
    "account": _USERS,
    "watchlists": _USERS,
    "portfolios": _USERS,
    "alerts": _USERS,
    "alerts.webhook": _PAID,  # the webhook channel of alerts (notification preferences)
    "notifications": _USERS,
    "reports": _USERS,
    "admin.users": _ADMIN,
    "admin.ingest": _ADMIN,
    "admin.audit": _ADMIN,
    "admin.alerts": _ADMIN,  # the alert delivery dead-letter queue: peek and redrive
    "admin.operations": _ADMIN,  # the platform's health figures (requests, errors, queues, SLOs)
}


@dataclass(frozen=True)
class Quota:
    requests_per_minute: int
    saved_screens: int
    active_alerts: int
    portfolios: int
    watchlists: int
    watchlist_items: int
    api_keys: int
    fields: Literal["basic", "all"]
    #: Active alerts over a whole watchlist / a saved screen's membership (they also count as active
    #: alerts). One watchlist alert is as many triggers as the list has symbols (up to 50 free, 500
    #: premium) and one screen alert runs a full screen on every daily run, so they are scarcer than
    #: single-symbol alerts: free gets 2 of each (one screen's entrants and its leavers), premium 20.
    watchlist_alerts: int = 0
    screen_alerts: int = 0


QUOTAS: dict[str, Quota] = {
    ANONYMOUS: Quota(300, 0, 0, 0, 0, 0, 0, "basic"),  # per IP: people behind one NAT share it
    "free": Quota(60, 3, 5, 1, 5, 50, 0, "basic", watchlist_alerts=2, screen_alerts=2),
    "premium": Quota(600, 100, 30, 10, 50, 500, 10, "all", watchlist_alerts=20, screen_alerts=20),
    "admin": Quota(600, 100, 30, 10, 50, 500, 10, "all", watchlist_alerts=20, screen_alerts=20),
}


#: the window of ``Quota.requests_per_minute``: a caller's bucket holds that many requests and refills over it
RATE_WINDOW_S = 60


def rate_subject(user_id: str | None, source_ip: str | None) -> str:
    """The rate-limit bucket a request draws on: one per user, shared by their session and every one of
    their API keys (ten keys are not ten allowances), and one per source IP for anonymous callers."""
    if user_id is not None:
        return f"user:{user_id}"
    return f"ip:{source_ip or 'unknown'}"


#: Symbols one WebSocket connection may follow, by role. Anonymous connections (no access token at
#: ``$connect``; public quotes only) get the lowest limit: the limit every connection had before sessions
#: were authenticated, so a page that does not send its token yet keeps working.
WS_SUBSCRIPTIONS: dict[str, int] = {ANONYMOUS: 50, "free": 100, "premium": 250, "admin": 250}


def ws_subscription_limit(role: str) -> int:
    """How many symbols a WebSocket connection of ``role`` may follow (an unknown role: the anonymous one)."""
    return WS_SUBSCRIPTIONS.get(role, WS_SUBSCRIPTIONS[ANONYMOUS])


def allowed(role: str, feature: str) -> bool:
    try:
        return role in FEATURES[feature]
    except KeyError:
        raise KeyError(f"unknown feature {feature!r}; add it to stockscreen.core.policy.FEATURES") from None


def require(role: str, feature: str) -> None:
    if not allowed(role, feature):
        raise Forbidden(f"your plan does not include {feature!r}", {"feature": feature, "role": role})


def quota(role: str) -> Quota:
    return QUOTAS[role]


def check_quota(role: str, name: str, used: int) -> None:
    """Raise Forbidden when creating one more ``name`` would exceed the role's quota."""
    limit = int(getattr(quota(role), name))
    if used >= limit:
        raise Forbidden(
            f"quota reached: {name.replace('_', ' ')} is limited to {limit} on the {role} plan",
            {"quota": name, "limit": limit, "used": used, "role": role},
        )
