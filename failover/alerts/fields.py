"""What the alert and event models are made of: the base model, the field types for Azure's ways of writing
values, and the translation of pydantic's `ValidationError` into the `AlertError` that names the JSON path.

Rules every payload model follows (they are how Azure's payloads are read, docs/triggers.md):
- a field that is missing reads as null, and a field's type says what null means (`validate_default`): a
  required field refuses it, an optional one reads it as None, `{}` or `[]`;
- fields Azure adds and we do not read are ignored, never refused;
- each refusal is one `AlertError(path, message)`: the first error in document order, its message the one
  the field's type declares (`required`, `shaped`, `Text`...), its path dotted and indexed
  (`data.alertContext.condition.allOf[0]`, `[2].data.resourceInfo`), `$` for the payload itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainValidator,
    Tag,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from failover.alerts.model import AlertError

REFUSED = "alert_refused"  # the pydantic error type of every refusal with our own message
# The default of a field whose type decides what null means (refuses it, or reads it as {} or []): a missing
# field is validated as null. Typed Any so that a field typed `str` may default to it.
NULL: Any = None
_TAGS: set[str] = set()  # union tags: pydantic puts them in an error's location, the JSON path has no such step
_REFUSE: Any = object()


class Payload(BaseModel):
    """A part of an Azure payload: a missing field reads as null, unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore", validate_default=True, frozen=True)


def tag(name: str) -> Tag:
    """A tag of a discriminated union (left out of error paths): it has a '-', which no field name has."""
    if "-" not in name:
        raise ValueError(f"tag '{name}' could be taken for a field name")
    _TAGS.add(name)
    return Tag(name)


def refused(message: str) -> PydanticCustomError:
    """The error a validator raises; `message` is shown as it is (braces included)."""
    return PydanticCustomError(REFUSED, message)


def refused_at(loc: tuple[int | str, ...], message: str) -> ValidationError:
    """A refusal at `loc` below the value being validated (for rules that span several fields)."""
    return ValidationError.from_exception_data(
        "refused", [InitErrorDetails(type=refused(message), loc=loc, input=None)]
    )


def shaped(kind: type[dict[str, Any]] | type[list[Any]], message: str, *, none: Any = _REFUSE) -> BeforeValidator:
    """An object (`dict`) or an array (`list`), else refused with `message`; null is refused too, unless `none`
    says what it reads as (`{}`, `[]`, or None for an optional field)."""

    def check(value: Any) -> Any:
        if value is None and none is not _REFUSE:
            return none.copy() if isinstance(none, dict | list) else none
        if not isinstance(value, kind):
            raise refused(message)
        return value

    return BeforeValidator(check)


OBJECT_OR_NULL = shaped(dict, "must be an object", none={})  # an optional object: null reads as {}


def required(message: str, *, test: Callable[[str], Any] = bool) -> PlainValidator:
    """A string that passes `test` (default: not empty; `str.strip`: not blank), else refused with `message`."""

    def check(value: Any) -> str:
        if not isinstance(value, str) or not test(value):
            raise refused(message)
        return value

    return PlainValidator(check)


def _optional(message: str, *, numbers: bool = False) -> PlainValidator:
    """A string or null ("" is null; numbers are read as their text if `numbers`), else refused with `message`."""

    def check(value: Any) -> str | None:
        if value is None or value == "":
            return None
        if isinstance(value, str):
            return value
        if numbers and isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise refused(message)

    return PlainValidator(check)


# A string or null; numbers are read as their text ("0.5"), "" as null. Booleans, arrays and objects are refused.
Text = Annotated[str | None, _optional("must be a string", numbers=True)]
# A string or null, nothing else ("" is null).
StrictText = Annotated[str | None, _optional("must be a string")]
# A date-time: a string or null ("" is null).
Time = Annotated[str | None, _optional("must be a string (a date-time) or null")]


def unless(primary: str) -> WrapValidator:
    """A fallback field: read (and checked) only when the field `primary`, declared before it, is empty."""

    def fallback(value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
        return None if info.data.get(primary) else handler(value)

    return WrapValidator(fallback)


def alert_error(err: ValidationError, root: str = "") -> AlertError:
    """The first error of `err` as an AlertError naming its JSON path (below `root`, a path prefix)."""
    first = err.errors(include_url=False, include_context=False, include_input=False)[0]
    path = root
    for part in first["loc"]:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part not in _TAGS:
            path = f"{path}.{part}" if path else part
    return AlertError(path or "$", first["msg"])
