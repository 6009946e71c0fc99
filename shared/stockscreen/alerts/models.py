"""Alert rule types (each type of alert has its own validated parameters) and the alert options.

The first ten types watch one symbol. The others (crossings, channels, moves, query-language
expressions) watch one symbol or every symbol of a watchlist (``watchlist_id``, followed as the list
changes); ``screen_enter`` / ``screen_leave`` watch a saved screen's membership.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from stockscreen.core.symbols import Symbol
from stockscreen.screening.fields import BY_ID

Above = Literal["above", "below"]


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PriceAbove(_Rule):
    type: Literal["price_above"]
    symbol: Symbol
    price: Annotated[float, Field(gt=0, lt=1e9)]


class PriceBelow(_Rule):
    type: Literal["price_below"]
    symbol: Symbol
    price: Annotated[float, Field(gt=0, lt=1e9)]


class ChangePct(_Rule):
    type: Literal["change_pct"]
    symbol: Symbol
    threshold_pct: Annotated[float, Field(gt=0, le=1000)]
    direction: Literal["up", "down", "either"] = "either"


class CrossesSma(_Rule):
    type: Literal["crosses_sma"]
    symbol: Symbol
    period: Literal[20, 50, 200]
    direction: Above


class RsiThreshold(_Rule):
    type: Literal["rsi"]
    symbol: Symbol
    threshold: Annotated[float, Field(gt=0, lt=100)]
    direction: Above
    period: Literal[14] = 14


class VolumeSpike(_Rule):
    type: Literal["volume_spike"]
    symbol: Symbol
    multiple: Annotated[float, Field(gt=1, le=100)] = Field(description="volume / 20-day average volume")


class High52w(_Rule):
    type: Literal["high_52w"]
    symbol: Symbol


class Low52w(_Rule):
    type: Literal["low_52w"]
    symbol: Symbol


class ScreenEnter(_Rule):
    type: Literal["screen_enter"]
    screen_id: str = Field(pattern=r"^[0-9a-fA-F-]{36}$")


class ScreenLeave(_Rule):
    type: Literal["screen_leave"]
    screen_id: str = Field(pattern=r"^[0-9a-fA-F-]{36}$")


_UUID = r"^[0-9a-fA-F-]{36}$"
#: Fields an alert may compare: the screener's numeric catalogue fields (``price`` means ``close``).
NUMERIC_FIELDS = frozenset(f.id for f in BY_ID.values() if f.type == "number") | {"price"}


def _check_field(name: str) -> str:
    if name not in NUMERIC_FIELDS:
        raise ValueError(f"unknown numeric field {name!r}; use a screener field such as close, sma50, rsi14, volume")
    return name


class _Scoped(_Rule):
    """One symbol, or every symbol of one of the user's watchlists."""

    symbol: Symbol | None = None
    watchlist_id: str | None = Field(default=None, pattern=_UUID)

    @model_validator(mode="after")
    def _one_scope(self) -> Self:
        if (self.symbol is None) == (self.watchlist_id is None):
            raise ValueError("give exactly one of 'symbol' and 'watchlist_id'")
        return self


class Crossing(_Scoped):
    """``field`` crosses a ``level`` or ``other`` field (e.g. close crosses_above sma50)."""

    type: Literal["crossing", "crossing_up", "crossing_down"]
    field: str = "close"
    level: Annotated[float, Field(gt=-1e12, lt=1e12)] | None = None
    other: str | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        _check_field(self.field)
        if (self.level is None) == (self.other is None):
            raise ValueError("give exactly one of 'level' (a number) and 'other' (a field)")
        if self.other is not None:
            _check_field(self.other)
        return self


class Channel(_Scoped):
    """``field`` enters or exits the channel ``lower..upper``."""

    type: Literal["channel_enter", "channel_exit"]
    field: str = "close"
    lower: Annotated[float, Field(gt=-1e12, lt=1e12)]
    upper: Annotated[float, Field(gt=-1e12, lt=1e12)]

    @model_validator(mode="after")
    def _check(self) -> Self:
        _check_field(self.field)
        if not self.lower < self.upper:
            raise ValueError("'lower' must be below 'upper'")
        return self


class Move(_Scoped):
    """The price moves up (down) at least ``pct`` percent against the close ``bars`` sessions ago."""

    type: Literal["move_up_pct", "move_down_pct"]
    pct: Annotated[float, Field(gt=0, le=1000)]
    bars: Annotated[int, Field(ge=1, le=252)]


class QueryRule(_Scoped):
    """Any screener query-language expression (validated with the screener's parser)."""

    type: Literal["query"]
    query: Annotated[str, Field(min_length=1, max_length=4000)]


#: Per-alert cooldown: after the alert notified (per symbol), its firings within this many minutes reach only
#: the history and the in-app list (at most a week).
Cooldown = Annotated[
    int,
    Field(
        ge=0,
        le=10080,
        description="minutes after a notification during which the alert only reaches the history and the in-app list",
    ),
]

Trigger = Literal["once", "once_per_day", "once_per_bar_close", "every_time"]
DEFAULT_TRIGGER: Trigger = "once_per_day"
#: The band around a level that the value must leave before the alert re-arms (percent of the level).
DEFAULT_HYSTERESIS_PCT = 0.2


AlertRule = Annotated[
    PriceAbove
    | PriceBelow
    | ChangePct
    | CrossesSma
    | RsiThreshold
    | VolumeSpike
    | High52w
    | Low52w
    | ScreenEnter
    | ScreenLeave
    | Crossing
    | Channel
    | Move
    | QueryRule,
    Field(discriminator="type"),
]


class AlertOptions(BaseModel):
    """When an alert fires. ``once``: then it completes; ``once_per_day``: then it is quiet until the next
    session; ``once_per_bar_close``: evaluated on the daily close only; ``every_time``: at every edge.
    Every option is edge-triggered: a condition that stays true does not fire again."""

    model_config = ConfigDict(extra="forbid")

    trigger: Trigger = DEFAULT_TRIGGER
    hysteresis_pct: Annotated[float, Field(ge=0, le=50)] = DEFAULT_HYSTERESIS_PCT
    expires_at: AwareDatetime | None = None
    snoozed_until: AwareDatetime | None = None
    cooldown_minutes: Cooldown = 0


class AlertOptionsPatch(BaseModel):
    """The options to change (a field left out is kept; ``snoozed_until: null`` ends a snooze)."""

    model_config = ConfigDict(extra="forbid")

    trigger: Trigger | None = None
    hysteresis_pct: Annotated[float, Field(ge=0, le=50)] | None = None
    expires_at: AwareDatetime | None = None
    snoozed_until: AwareDatetime | None = None
    cooldown_minutes: Cooldown | None = None


#: Free alerts expire after about two months unless given an expiry (as TradingView's do); paid ones never.
FREE_EXPIRY_DAYS = 60


# -- notification preferences ---------------------------------------------------------------------------

#: Every delivery channel, in the order a firing is delivered.
CHANNELS = ("in_app", "websocket", "email", "sns", "webhook")
#: The channels quiet hours hold and daily caps count (in-app is always recorded; WebSocket pushes reach
#: only sessions the user has open, so they are neither held nor capped).
HELD_CHANNELS = ("email", "sns", "webhook")

_HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class QuietHours(BaseModel):
    """Local times (the user's time zone) between which email, SNS and webhook messages are held; the
    span may wrap midnight (22:00-07:00)."""

    model_config = ConfigDict(extra="forbid")

    start: str = Field(pattern=_HHMM, examples=["22:00"])
    end: str = Field(pattern=_HHMM, examples=["07:00"])

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if self.start == self.end:
            raise ValueError("quiet hours must not start and end at the same time")
        return self


class ChannelChoices(BaseModel):
    model_config = ConfigDict(extra="forbid")

    in_app: bool = True
    websocket: bool = True
    email: bool = True
    sns: bool = True
    webhook: bool = False


Cap = Annotated[int, Field(ge=1, le=1000)]


class DailyCaps(BaseModel):
    """Messages per local day and channel; the overflow is rolled into one summary message."""

    model_config = ConfigDict(extra="forbid")

    email: Cap = 20
    sns: Cap = 10
    webhook: Cap = 100


#: SMS only: the delivery role may publish to phone numbers and to the platform's own topic, not to topics
#: in users' accounts (to reach a system of yours, use the webhook channel).
SnsTarget = Annotated[
    str,
    Field(pattern=r"^\+[1-9][0-9]{6,14}$", description="an E.164 phone number for SMS, e.g. +14155550100"),
]
WebhookUrl = Annotated[
    str, Field(min_length=8, max_length=2000, pattern=r"^https?://", examples=["https://example.com/hook"])
]
WebhookStatus = Literal["active", "disabled", "none"]


def _check_timezone(name: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as America/New_York") from exc
    return name


class NotificationPreferencesUpdate(BaseModel):
    """The whole preferences document (``PUT``). The read-only fields may be sent back as read; they are
    ignored."""

    model_config = ConfigDict(extra="forbid")

    timezone: Annotated[str, Field(min_length=1, max_length=64)] = "UTC"
    quiet_hours: QuietHours | None = None
    channels: ChannelChoices = ChannelChoices()
    daily_caps: DailyCaps = DailyCaps()
    sns_target: SnsTarget | None = None
    webhook_url: WebhookUrl | None = None
    webhook_status: WebhookStatus | None = Field(default=None, description="read-only; ignored")
    webhook_disabled_reason: str | None = Field(default=None, description="read-only; ignored")
    webhook_secret_hint: str | None = Field(default=None, description="read-only; ignored")

    @model_validator(mode="after")
    def _check(self) -> Self:
        _check_timezone(self.timezone)
        if self.channels.webhook and self.webhook_url is None:
            raise ValueError("the webhook channel needs a 'webhook_url'")
        return self


class NotificationPreferences(BaseModel):
    """The preferences as stored and returned (``GET``)."""

    timezone: str = "UTC"
    quiet_hours: QuietHours | None = None
    channels: ChannelChoices = ChannelChoices()
    daily_caps: DailyCaps = DailyCaps()
    sns_target: str | None = None
    webhook_url: str | None = None
    webhook_status: WebhookStatus = "none"
    webhook_disabled_reason: str | None = None
    webhook_secret_hint: str | None = None
