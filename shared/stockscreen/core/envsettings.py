"""Typed settings read from the environment, without importing pydantic unless a value needs it.

Every Lambda reads its settings before its first answer; importing pydantic for them (with
``annotated_types`` and ``pydantic_core``'s schema module) was ~70 ms of a cold ``/health`` that validates no
request body (README, "Cold start"). The settings are declared as before, with this module's
:func:`Field`, :func:`field_validator` and :func:`model_validator` standing in for pydantic's, and they
mean what they meant as pydantic models:

* each field is read from the environment variable of its name, or of its ``validation_alias``, matched
  case-insensitively; keyword arguments (by that same name) override the environment; other keywords
  are ignored;
* values are validated as pydantic's lax mode validates them (``"50"`` is 50, ``"true"`` is True), a
  field's ``before`` validator first, the model's ``after`` validators last; defaults are not validated;
* instances are frozen, compared and hashed by their fields.

How: the common cases (a string, an optional string, a canonical integer, decimal or boolean string, one
of a ``Literal``'s strings, the ``gt``/``ge``/``lt``/``le`` bounds) are checked here. Anything else, and
every failure, goes to pydantic: the same declaration built as a pydantic model (on first need, once per
class), which decides the value or raises its own ``ValidationError``. So a missing or invalid variable is
the ``pydantic.ValidationError`` naming it, as before, and an unusual but valid value (``"1e3"``,
``" 5"``) is read as pydantic reads it.
"""

from __future__ import annotations

import inspect
import operator
import os
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal, NamedTuple, TypeVar, dataclass_transform

if typing.TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["EnvSettings", "Field", "field_validator", "model_validator"]

_MISSING: Any = object()
_UNSURE: Any = object()  # "pydantic decides": the fast path never guesses
_BOUNDS = {"gt": operator.gt, "ge": operator.ge, "lt": operator.lt, "le": operator.le}
_BOOLS = {"true": True, "1": True, "yes": True, "on": True, "t": True, "y": True}
_BOOLS |= {"false": False, "0": False, "no": False, "off": False, "f": False, "n": False}

F = TypeVar("F", bound=Callable[..., Any])


class FieldInfo(NamedTuple):
    """A field's declaration: what :func:`Field` was given (pydantic's ``Field`` receives the same)."""

    default: Any
    kwargs: Mapping[str, Any]


def Field(
    default: Any = _MISSING,
    *,
    validation_alias: str | None = None,
    description: str | None = None,
    gt: float | None = None,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
) -> Any:
    """A settings field: its default (none: required), the environment variable it is read from when not
    its name, its description, and numeric bounds, as pydantic's ``Field``."""
    given = {"validation_alias": validation_alias, "description": description, "gt": gt, "ge": ge, "lt": lt}
    kwargs = {k: v for k, v in {**given, "le": le}.items() if v is not None}
    return FieldInfo(default, kwargs)


class _Validator(NamedTuple):
    kind: Literal["field", "model"]
    fields: tuple[str, ...]
    mode: str
    func: Any  # a classmethod (field validators) or a function of the instance (model validators)


def field_validator(*fields: str, mode: Literal["before"]) -> Callable[[F], F]:
    """pydantic's ``field_validator`` (``before`` only: what the settings use), on a classmethod."""

    def decorate(func: F) -> F:
        return _Validator("field", fields, mode, func)  # type: ignore[return-value]

    return decorate


def model_validator(*, mode: Literal["after"]) -> Callable[[F], F]:
    """pydantic's ``model_validator`` (``after`` only): a method of the instance that returns it or raises
    ``ValueError``."""

    def decorate(func: F) -> F:
        return _Validator("model", (), mode, func)  # type: ignore[return-value]

    return decorate


class _Spec(NamedTuple):
    name: str
    key: str  # the environment variable (any case) and keyword it is read from
    annotation: Any
    default: Any
    bounds: tuple[tuple[str, float], ...]
    check: Callable[[Any], Any] | None  # None: pydantic decides every value given


@dataclass_transform(kw_only_default=True, frozen_default=True, field_specifiers=(Field,))
class EnvSettings:
    """Settings from the environment; a missing or invalid one is a ``pydantic.ValidationError`` naming it."""

    _specs: ClassVar[tuple[_Spec, ...] | None] = None
    _before: ClassVar[dict[str, list[Any]]]
    _after: ClassVar[list[Any]]
    _pydantic: ClassVar[type[BaseModel] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._specs = None  # built on the first instance (annotations resolved then)
        cls._pydantic = None

    def __init__(self, **values: Any) -> None:
        cls = type(self)
        specs = cls._specs if cls._specs is not None else _build(cls)
        given = {**_from_environ(specs), **values}
        if not self._fast(specs, given):
            self._by_pydantic(given)

    def _fast(self, specs: tuple[_Spec, ...], given: dict[str, Any]) -> bool:
        """The fields set from ``given`` and the model validators passed: True; False when pydantic must
        decide (a required field missing, a value the fast path is not sure of, a validator's error)."""
        cls = type(self)
        for spec in specs:
            value = given.get(spec.key, _MISSING)
            if value is _MISSING:
                value = spec.default  # (defaults are not validated, as in pydantic)
                if value is _MISSING:
                    return False
            else:
                try:
                    for validator in cls._before.get(spec.name, ()):
                        value = validator.__func__(cls, value)
                except (ValueError, AssertionError):
                    return False  # pydantic runs it again and raises its error
                value = _checked(spec, value)
                if value is _UNSURE:
                    return False
            object.__setattr__(self, spec.name, value)
        for after in cls._after:
            try:
                after(self)
            except (ValueError, AssertionError):
                return False  # pydantic runs it again and raises its error
        return True

    def _by_pydantic(self, given: dict[str, Any]) -> None:
        model = type(self)._pydantic or _pydantic_model(type(self))
        validated = model(**given)  # raises pydantic's ValidationError
        for name in _names(self):
            object.__setattr__(self, name, getattr(validated, name))

    def __setattr__(self, name: str, value: Any) -> None:
        raise _frozen(type(self), name, value)

    def __delattr__(self, name: str) -> None:
        raise _frozen(type(self), name, None)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in _names(self))

    def __hash__(self) -> int:
        return hash((type(self), *(getattr(self, n) for n in _names(self))))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{n}={getattr(self, n)!r}' for n in _names(self))})"


def _names(settings: EnvSettings) -> list[str]:
    cls = type(settings)
    return [s.name for s in (cls._specs if cls._specs is not None else _build(cls))]


def _from_environ(specs: tuple[_Spec, ...]) -> dict[str, str]:
    env = {k.lower(): v for k, v in os.environ.items()}
    found: dict[str, str] = {}
    for spec in specs:
        value = env.get(spec.key.lower())
        if value is not None:
            found[spec.key] = value
    return found


def _declared(cls: type[EnvSettings]) -> list[tuple[str, Any, Any]]:
    """(name, annotation, value) of every field and (name, None, validator) of every validator, in pydantic's
    order: the bases' first (reversed MRO), a field redeclared by a subclass keeping its place, validators
    overridden by name. Annotations are evaluated in their class's module (``from __future__ import
    annotations`` leaves strings)."""
    found: dict[str, tuple[str, Any, Any]] = {}
    for klass in reversed(cls.__mro__):
        if not issubclass(klass, EnvSettings) or klass is EnvSettings:
            continue
        for name, hint in inspect.get_annotations(klass, eval_str=True).items():
            if not name.startswith("_"):
                found[name] = (name, hint, klass.__dict__.get(name, _MISSING))
        for name, value in klass.__dict__.items():
            if isinstance(value, _Validator):
                found[name] = (name, None, value)
    return list(found.values())


def _build(cls: type[EnvSettings]) -> tuple[_Spec, ...]:
    specs: list[_Spec] = []
    before: dict[str, list[Any]] = {}
    after: list[Any] = []
    for name, annotation, value in _declared(cls):
        if isinstance(value, _Validator):
            if value.kind == "model":
                after.append(value.func)
            else:
                for field in value.fields:
                    before.setdefault(field, []).append(value.func)
            continue
        info = value if isinstance(value, FieldInfo) else FieldInfo(value, {})
        alias = info.kwargs.get("validation_alias")
        bounds = tuple((k, float(v)) for k, v in info.kwargs.items() if k in _BOUNDS)
        other = set(info.kwargs) - {*_BOUNDS, "validation_alias", "description"}
        if typing.get_origin(annotation) is ClassVar:
            continue
        check = None if other else _checker(annotation)
        specs.append(_Spec(name, alias or name, annotation, info.default, bounds, check))
    cls._before, cls._after = before, after
    cls._specs = tuple(specs)
    return cls._specs


def _checker(annotation: Any) -> Callable[[Any], Any] | None:
    """The fast path's check of one type: the value, or ``_UNSURE``; None when it has none."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is str:
        return lambda v: v if type(v) is str else _UNSURE
    if origin in (typing.Union, types.UnionType) and set(args) == {str, type(None)}:
        return lambda v: v if v is None or type(v) is str else _UNSURE
    if annotation is int:
        return _int
    if annotation is float:
        return _float
    if annotation is bool:
        return lambda v: v if type(v) is bool else _BOOLS.get(v, _UNSURE) if type(v) is str else _UNSURE
    if origin is Literal and all(type(a) is str for a in args):
        options = frozenset(args)
        return lambda v: v if type(v) is str and v in options else _UNSURE
    if origin is tuple and args == (str, ...):
        return lambda v: v if type(v) is tuple and all(type(x) is str for x in v) else _UNSURE
    return None


def _digits(s: str) -> bool:
    """ASCII digits only, at most 15 of them (no sign, space, underscore or exponent: pydantic reads those)."""
    return 0 < len(s) <= 15 and s.isascii() and s.isdigit()


def _int(v: Any) -> Any:
    if type(v) is int:
        return v
    if type(v) is str and _digits(v) and (v[0] != "0" or v == "0"):
        return int(v)
    return _UNSURE


def _float(v: Any) -> Any:
    if type(v) is float:
        return v if v - v == 0 else _UNSURE  # inf and nan: pydantic's business
    if type(v) is int:
        return float(v)
    if type(v) is str:
        whole, dot, fraction = v.partition(".")
        if _digits(whole) and (not dot or _digits(fraction)):
            return float(v)
    return _UNSURE


def _checked(spec: _Spec, value: Any) -> Any:
    if spec.check is None:
        return _UNSURE
    value = spec.check(value)
    if value is _UNSURE or not spec.bounds:
        return value
    for op, bound in spec.bounds:
        if not _BOUNDS[op](value, bound):
            return _UNSURE
    return value


def _pydantic_model(cls: type[EnvSettings]) -> type[BaseModel]:
    """``cls`` as the pydantic model it used to be (same name, fields, validators and configuration)."""
    import pydantic

    if cls is EnvSettings:
        raise TypeError("EnvSettings itself has no fields")
    bases = tuple(_pydantic_model(b) for b in cls.__bases__ if issubclass(b, EnvSettings) and b is not EnvSettings)
    namespace: dict[str, Any] = {
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "__annotations__": {n: a for n, a in inspect.get_annotations(cls).items() if not n.startswith("_")},
    }
    if not bases:
        namespace["model_config"] = pydantic.ConfigDict(extra="ignore", frozen=True)
    for name, value in cls.__dict__.items():
        if isinstance(value, FieldInfo):
            default = {} if value.default is _MISSING else {"default": value.default}
            namespace[name] = pydantic.Field(**default, **value.kwargs)
        elif isinstance(value, _Validator) and value.kind == "field":
            namespace[name] = pydantic.field_validator(*value.fields, mode="before")(value.func)
        elif isinstance(value, _Validator):
            namespace[name] = pydantic.model_validator(mode="after")(value.func)
        elif name in namespace["__annotations__"]:
            namespace[name] = value
    model = type(cls.__name__, bases or (pydantic.BaseModel,), namespace)
    cls._pydantic = model
    return model


def _frozen(cls: type[EnvSettings], name: str, value: Any) -> Exception:
    from pydantic_core import ValidationError

    return ValidationError.from_exception_data(
        cls.__name__, [{"type": "frozen_instance", "loc": (name,), "input": value}]
    )
