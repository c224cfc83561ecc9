"""Typed contracts: the one input model and the one result model of every activity and orchestration.

A contract is a frozen pydantic model that serialises the way azure-functions-durable serialises custom
objects: `{"__class__": ..., "__module__": ..., "__data__": Model.to_json(obj)}` (azure.functions'
`_serialize_custom_object`, reconstructed by `from_json` on the other side). Durable Functions does this
itself on the Azure host; the local host passes the same codec to durabletask as its `DataConverter`
(`local.worker.DfCodec`), so both hosts put the same JSON in their histories.

Why real classes: the Azure Python worker loads a function only when each binding annotation is a class
(`payload: DnsSwitchInput`); `dict[str, Any]` made it refuse every activity and the whole app.

Evolving a contract: a history recorded by an older deployment replays through `from_json` of the new one,
so add fields with defaults and never rename or remove one while runs that used it may still replay.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field

NonEmpty = Annotated[str, Field(min_length=1)]
"""A name or id an activity cannot act without (the field is named in the error when it is empty)."""

Mode = Literal["planned", "unplanned", "test", "failback"]
"""A run's mode, and the ASR operation its batches start."""
StartAction = Literal["started", "attached", "skipped"]
"""What an idempotent start activity did: started the operation, attached to one running, or had nothing to do."""
CheckStatus = Literal["pass", "warn", "fail"]
"""One readiness or preflight check's verdict."""

# The keys of azure-functions-durable's custom-object envelope.
ENVELOPE_KEYS = frozenset({"__class__", "__module__", "__data__"})


class Contract(BaseModel):
    """Base of every activity/orchestration input and result: frozen, unknown fields refused, JSON-safe."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @staticmethod
    def to_json(obj: Contract) -> dict[str, Any]:
        """df calls `type(obj).to_json(obj)`; the value must be plain JSON (strict typing mode asks it too)."""
        return obj.model_dump(mode="json", by_alias=True)

    @classmethod
    def from_json(cls, data: Any) -> Self:
        return cls.model_validate(data)

    def plain(self) -> dict[str, Any]:
        """The model as plain JSON (for run state, events and reports, which are JSON documents)."""
        return self.model_dump(mode="json", by_alias=True)


class ActivityInput(Contract):
    """What every activity input carries for its logs: the run and its plan."""

    instance_id: str | None = None
    plan: str | None = None


class ArmInput(ActivityInput):
    """An activity acting on resources of one subscription and resource group."""

    subscription_id: NonEmpty
    resource_group: NonEmpty


# df's own codec (azure-functions-durable 1.7.0 is pinned): the functions its executor and the worker's activity
# converter call, so what we encode here is byte for byte what Azure encodes. Imported when first used: importing
# it imports all of azure.durable_functions, which plan files, the CLI and the API's models do not need (issue 22).


def dumps(value: Any) -> str:
    """Encode a payload exactly as azure-functions-durable does (contracts in their envelope)."""
    from azure.durable_functions.models.utils.df_serialization import df_dumps

    return str(df_dumps(value))


def loads(text: str) -> Any:
    """Decode a payload exactly as azure-functions-durable does (envelopes back into contracts)."""
    from azure.durable_functions.models.utils.df_serialization import df_loads

    return df_loads(text)


def unwrap(value: Any) -> Any:
    """A decoded-to-JSON value (a status's `output`, as both hosts' clients return it) with every contract
    envelope replaced by its plain data: what HTTP handlers and reports read."""
    if isinstance(value, dict):
        if value.keys() >= ENVELOPE_KEYS:
            return unwrap(value["__data__"])
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value
