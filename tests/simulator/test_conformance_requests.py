"""Requests we send: each activity that writes to Azure runs against the simulator through the real SDK clients
and its request is accepted; the same request, malformed the way Azure's REST spec forbids (an unknown enum value,
a missing required member, a wrong JSON type, a body that is not JSON), is refused with 400 and ARM's error
envelope, and changes nothing.

The activity's own request is captured on the wire (`requests.Session.send`), so what is replayed is exactly what
the SDK sent, not a body written by hand.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests

from activities.asr import asr_commit, asr_reprotect, asr_start_failover, asr_test_cleanup
from activities.avd import avd_drain_host_pool, avd_log_off_sessions, avd_message_sessions
from activities.dependencies import compute_start_vms, sql_failover_start, storage_failover_start
from activities.dns import dns_switch_record
from activities.notify import publish_event
from activities.traffic import tm_set_endpoint
from activities.verify import logs_heartbeat
from failover import settings as settings_module
from failover.contracts.asr import RecoveryPlanInput, ReprotectInput, StartFailoverInput, TestCleanupInput
from failover.contracts.avd import HostPoolDrainInput, SessionHostInput, SessionMessageInput
from failover.contracts.dependencies import SqlFailoverStartInput, StorageFailoverStartInput, VmsInput
from failover.contracts.dns import DnsSwitchInput
from failover.contracts.notify import PublishEventInput
from failover.contracts.traffic import TmEndpointInput
from failover.contracts.verify import HeartbeatInput
from failover.settings import Settings
from simulator import Estate, EstateConfig, Simulator, seed_demo_estate
from simulator.estate import DEMO_ASR_RG, DEMO_VAULT, SUBSCRIPTION_ID
from simulator.faults import ThrottleConfig
from simulator.network import DEMO_WORKSPACE_ID
from tests.simulator.conformance import AUTH, arm_error, finish_operations

ASR = {"subscription_id": SUBSCRIPTION_ID, "resource_group": DEMO_ASR_RG, "vault": DEMO_VAULT}
AVD = {"subscription_id": SUBSCRIPTION_ID, "resource_group": "rg-avd-weu", "host_pool": "hp-weu-pooled"}
VNET = (
    f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-network-neu/providers/Microsoft.Network/virtualNetworks/"
    "vnet-drill-neu"
)
NOT_JSON = b"{not json"


@dataclass
class Sent:
    method: str
    url: str
    body: bytes | None
    content_type: str | None
    status: int  # the simulator's answer


Mutation = Callable[[Any], Any]  # the parsed JSON body -> the malformed one (or bytes: sent as is)


def set_at(path: str, value: Any) -> Mutation:
    """A mutation: set (or with `value` DELETE, remove) the member at a dotted path (`a.b[0].c`)."""

    def mutate(body: Any) -> Any:
        body = copy.deepcopy(body)
        node, parts = body, [part for part in path.replace("[", ".[").split(".") if part]
        for part in parts[:-1]:
            node = node[int(part[1:-1])] if part.startswith("[") else node[part]
        last = parts[-1]
        if value is DELETE:
            del node[last]
        else:
            node[int(last[1:-1]) if last.startswith("[") else last] = value
        return body

    return mutate


DELETE = object()


def raw(data: bytes) -> Mutation:
    return lambda _body: data


@dataclass(frozen=True)
class Write:
    """An activity, the request of it to refuse once malformed, and the malformations with Azure's answer code."""

    name: str
    run: Callable[[], dict[str, Any]]
    method: str
    path_suffix: str  # the captured request's path ends so (case-insensitive)
    malformed: tuple[tuple[str, Mutation, str], ...]  # (what, mutation, expected error code)
    prepare: Callable[[Simulator], None] | None = None
    query: tuple[tuple[str, str], ...] = ()  # query parameters to replace instead of the body


def _switch_dns(name: str, record_type: Literal["A", "CNAME"], target: str) -> Any:
    """`dns_switch_record` on one record of the demo zone (contoso.com in rg-dns-global)."""
    return dns_switch_record(
        DnsSwitchInput(
            subscription_id=SUBSCRIPTION_ID,
            resource_group="rg-dns-global",
            zone="contoso.com",
            name=name,
            type=record_type,
            target=target,
        )
    )


def post_plan(sim: Simulator, name: str, operation: str, body: dict[str, Any] | None) -> None:
    path = (
        f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{DEMO_ASR_RG}/providers/Microsoft.RecoveryServices/"
        f"vaults/{DEMO_VAULT}/replicationRecoveryPlans/{name}/{operation}"
    )
    answer = requests.post(
        sim.url + path,
        params={"api-version": "2025-08-01"},
        json=body,
        headers=AUTH,
        verify=sim.ca_bundle,
        timeout=10,
    )
    assert answer.status_code == 202, answer.text
    finish_operations(sim)


A2A = [{"instanceType": "A2A", "recoveryPointType": "Latest"}]
STEPS: dict[str, tuple[str, dict[str, Any] | None]] = {
    "failover": (
        "plannedFailover",
        {"properties": {"failoverDirection": "PrimaryToRecovery", "providerSpecificDetails": A2A}},
    ),
    "commit": ("failoverCommit", None),
    "reprotect": ("reProtect", None),
    "drill": (
        "testFailover",
        {
            "properties": {
                "failoverDirection": "PrimaryToRecovery",
                "networkType": "VmNetworkAsInput",
                "networkId": VNET,
                "providerSpecificDetails": A2A,
            }
        },
    ),
}


def after(name: str, *steps: str) -> Callable[[Simulator], None]:
    """Prepare: take recovery plan `name` through `steps` (each job finished) before the activity runs."""

    def prepare(sim: Simulator) -> None:
        for step in steps:
            post_plan(sim, name, *STEPS[step])

    return prepare


ASR_FAILOVER = (
    ("unknown failoverDirection", set_at("properties.failoverDirection", "Sideways"), "InvalidParameterValue"),
    ("no failoverDirection", set_at("properties.failoverDirection", DELETE), "InvalidRequestFormat"),
    ("failoverDirection a number", set_at("properties.failoverDirection", 1), "InvalidRequestFormat"),
    (
        "unknown recoveryPointType",
        set_at("properties.providerSpecificDetails[0].recoveryPointType", "Yesterday"),
        "InvalidParameterValue",
    ),
    (
        "no recoveryPointType",
        set_at("properties.providerSpecificDetails[0].recoveryPointType", DELETE),
        "InvalidRequestFormat",
    ),
    (
        "unknown provider instanceType",
        set_at("properties.providerSpecificDetails[0].instanceType", "A2B"),
        "InvalidParameterValue",
    ),
    ("no properties", set_at("properties", DELETE), "InvalidRequestFormat"),
    ("not JSON", raw(NOT_JSON), "InvalidRequestContent"),
)
NO_BODY = (
    ("a body that is not JSON", raw(NOT_JSON), "InvalidRequestContent"),
    ("a JSON body that is not an object", raw(b"[1]"), "InvalidRequestContent"),
)

WRITES = [
    Write(
        "asr_start_failover planned",
        lambda: asr_start_failover(StartFailoverInput(**ASR, recovery_plan="rp-apps-01", mode="planned")),
        "POST",
        "/rp-apps-01/plannedFailover",
        ASR_FAILOVER,
    ),
    Write(
        "asr_start_failover unplanned",
        lambda: asr_start_failover(StartFailoverInput(**ASR, recovery_plan="rp-apps-02", mode="unplanned")),
        "POST",
        "/rp-apps-02/unplannedFailover",
        (
            *ASR_FAILOVER,
            ("no sourceSiteOperations", set_at("properties.sourceSiteOperations", DELETE), "InvalidRequestFormat"),
            (
                "unknown sourceSiteOperations",
                set_at("properties.sourceSiteOperations", "Maybe"),
                "InvalidParameterValue",
            ),
        ),
    ),
    Write(
        "asr_start_failover test",
        lambda: asr_start_failover(
            StartFailoverInput(**ASR, recovery_plan="rp-identity", mode="test", network_id=VNET)
        ),
        "POST",
        "/rp-identity/testFailover",
        (
            *ASR_FAILOVER,
            ("no networkType", set_at("properties.networkType", DELETE), "InvalidRequestFormat"),
            ("unknown networkType", set_at("properties.networkType", "AnyNetwork"), "InvalidParameterValue"),
            ("networkId a number", set_at("properties.networkId", 42), "InvalidRequestFormat"),
        ),
    ),
    Write(
        "asr_test_cleanup",
        lambda: asr_test_cleanup(TestCleanupInput(**ASR, recovery_plan="rp-apps-03", comments="drill done")),
        "POST",
        "/rp-apps-03/testFailoverCleanup",
        (
            ("comments a number", set_at("properties.comments", 7), "InvalidRequestFormat"),
            ("properties not an object", set_at("properties", "cleanup"), "InvalidRequestFormat"),
            ("no properties", set_at("properties", DELETE), "InvalidRequestFormat"),
        ),
        prepare=after("rp-apps-03", "drill"),
    ),
    Write(
        "asr_commit",
        lambda: asr_commit(RecoveryPlanInput(**ASR, recovery_plan="rp-apps-04")),
        "POST",
        "/rp-apps-04/failoverCommit",
        NO_BODY,
        prepare=after("rp-apps-04", "failover"),
    ),
    Write(
        "asr_reprotect",
        lambda: asr_reprotect(ReprotectInput(**ASR, recovery_plan="rp-apps-05")),
        "POST",
        "/rp-apps-05/reProtect",
        NO_BODY,
        prepare=after("rp-apps-05", "failover", "commit"),
    ),
    Write(
        "asr_start_failover failback",
        lambda: asr_start_failover(StartFailoverInput(**ASR, recovery_plan="rp-data-01", mode="failback")),
        "POST",
        "/rp-data-01/plannedFailover",
        (("unknown failoverDirection", set_at("properties.failoverDirection", "Backwards"), "InvalidParameterValue"),),
        prepare=after("rp-data-01", "failover", "commit", "reprotect"),
    ),
    Write(
        "avd_drain_host_pool",
        lambda: avd_drain_host_pool(HostPoolDrainInput(**AVD)),
        "PATCH",
        "/sessionHosts/sh-weu-001.contoso.local",
        (
            ("allowNewSession a string", set_at("properties.allowNewSession", "false"), "InvalidRequestFormat"),
            ("properties an array", set_at("properties", []), "InvalidRequestFormat"),
            ("not JSON", raw(NOT_JSON), "InvalidRequestContent"),
        ),
    ),
    Write(
        "avd_message_sessions",
        lambda: avd_message_sessions(
            SessionMessageInput(**AVD, session_host="sh-weu-002.contoso.local", title="t", body="b")
        ),
        "POST",
        "/sendMessage",
        (
            ("messageTitle a number", set_at("messageTitle", 5), "InvalidRequestFormat"),
            ("messageBody an object", set_at("messageBody", {"text": "b"}), "InvalidRequestFormat"),
        ),
    ),
    Write(
        "avd_log_off_sessions",
        lambda: avd_log_off_sessions(SessionHostInput(**AVD, session_host="sh-weu-003.contoso.local", concurrency=1)),
        "DELETE",
        "/userSessions/1",
        (("force not a boolean", lambda body: body, "InvalidParameterValue"),),
        query=(("force", "maybe"),),
    ),
    Write(
        "dns_switch_record CNAME",
        lambda: _switch_dns("app", "CNAME", "app-neu.contoso.com"),
        "PUT",
        "/CNAME/app",
        (
            ("TTL a string", set_at("properties.TTL", "60"), "BadRequest"),
            ("CNAMERecord a string", set_at("properties.CNAMERecord", "app-neu.contoso.com"), "BadRequest"),
            ("a metadata value not a string", set_at("properties.metadata.failoverPrevious", 1), "BadRequest"),
            ("no properties", set_at("properties", DELETE), "BadRequest"),
        ),
    ),
    Write(
        "dns_switch_record A",
        lambda: _switch_dns("portal", "A", "20.60.10.10"),
        "PUT",
        "/A/portal",
        (
            ("not an IPv4 address", set_at("properties.ARecords[0].ipv4Address", "300.1.1.1"), "BadRequest"),
            ("ARecords an object", set_at("properties.ARecords", {"ipv4Address": "20.60.10.10"}), "BadRequest"),
        ),
    ),
    Write(
        "tm_set_endpoint",
        lambda: tm_set_endpoint(
            TmEndpointInput(
                subscription_id=SUBSCRIPTION_ID,
                resource_group="rg-dns-global",
                profile="tm-contoso-app",
                endpoint="weu",
                endpoint_type="ExternalEndpoints",  # any case: the contract normalises it
                status="Disabled",
            )
        ),
        "PATCH",
        "/externalEndpoints/weu",
        (
            ("unknown endpointStatus", set_at("properties.endpointStatus", "Paused"), "BadRequest"),
            ("priority a string", set_at("properties.priority", "1"), "BadRequest"),
            ("unknown alwaysServe", set_at("properties.alwaysServe", "Sometimes"), "BadRequest"),
            ("no properties", set_at("properties", DELETE), "BadRequest"),
        ),
    ),
    Write(
        "logs_heartbeat",
        lambda: logs_heartbeat(HeartbeatInput(workspace_id=DEMO_WORKSPACE_ID, computers=["dc-onprem-01"])),
        "POST",
        "/query",
        (
            ("no query", set_at("query", DELETE), "BadArgumentError"),
            ("query a number", set_at("query", 5), "BadArgumentError"),
            ("timespan a number", set_at("timespan", 12), "BadArgumentError"),
        ),
    ),
    Write(
        "publish_event",
        lambda: publish_event(
            PublishEventInput(id="evt-1", type="Contoso.Failover.Started", source="/failover/demo", subject="run-1")
        ),
        "POST",
        "/eventgrid/api/events",
        (
            ("no source", set_at("[0].source", DELETE), "BadRequest"),
            ("specversion 0.3", set_at("[0].specversion", "0.3"), "BadRequest"),
            ("not a batch", lambda body: body[0], "BadRequest"),
        ),
    ),
    Write(
        "sql_failover_start",
        lambda: sql_failover_start(
            SqlFailoverStartInput(
                subscription_id=SUBSCRIPTION_ID,
                resource_group="rg-data-neu",
                server="sql-contoso-neu",
                failover_group="fg-contoso",
            )
        ),
        "POST",
        "/failoverGroups/fg-contoso/failover",
        NO_BODY,
    ),
    Write(
        "storage_failover_start",
        lambda: storage_failover_start(
            StorageFailoverStartInput(
                subscription_id=SUBSCRIPTION_ID, resource_group="rg-avd-weu", account="stcontosofslogix"
            )
        ),
        "POST",
        "/storageAccounts/stcontosofslogix/failover",
        (("unknown failoverType", lambda body: body, "InvalidValuesForRequestParameters"), *NO_BODY),
        query=(("failoverType", "Sideways"),),
    ),
    Write(
        "compute_start_vms",
        lambda: compute_start_vms(
            VmsInput(subscription_id=SUBSCRIPTION_ID, resource_group="rg-avd-neu", vms=["vm-avd-neu-0"])
        ),
        "POST",
        "/virtualMachines/vm-avd-neu-0/start",
        NO_BODY,
    ),
]


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    config = EstateConfig(time_scale=1, throttle=ThrottleConfig(enabled=False))
    with (
        Simulator(seed_demo_estate(Estate(config), vms=200, sessions=30)) as running,
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setattr(
            settings_module,
            "_current",
            Settings(
                arm_endpoint=running.url,
                ca_bundle=running.ca_bundle,
                credential="simulator",
                logs_endpoint=running.url,
                eventgrid_endpoint=f"{running.url}/eventgrid/api/events",
                eventgrid_key=running.estate.config.eventgrid_key,
            ),
        )
        yield running


@pytest.fixture
def sent(sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> list[Sent]:
    """Every request sent to the simulator during the test, as it went on the wire."""
    captured: list[Sent] = []
    send = requests.Session.send

    def recording(self: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        response = send(self, request, **kwargs)
        if request.url and request.url.startswith(sim.url):
            body = request.body.encode() if isinstance(request.body, str) else request.body
            content_type = request.headers.get("Content-Type")
            captured.append(Sent(str(request.method), request.url, body, content_type, response.status_code))
        return response

    monkeypatch.setattr(requests.Session, "send", recording)
    return captured


def state(sim: Simulator) -> str:
    """Everything the estate keeps (its request counters aside), to show a refused request changed nothing."""
    estate = {k: v for k, v in sim.estate.snapshot().items() if k not in ("requests", "faults")}
    kept = [estate, sim.estate.network.snapshot(), sim.estate.dependencies.snapshot()]
    return json.dumps(kept, sort_keys=True, default=str)


def with_query(url: str, replace: tuple[tuple[str, str], ...]) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(dict(replace))
    return parts._replace(query=urlencode(query)).geturl()


@pytest.mark.parametrize("write", WRITES, ids=[w.name for w in WRITES])
def test_conformance_activity_request_passes_and_malformed_one_is_refused(
    sim: Simulator, sent: list[Sent], write: Write
) -> None:
    if write.prepare:
        write.prepare(sim)
    sent.clear()
    result = write.run()
    assert result, write.name
    matching = [
        s for s in sent if s.method == write.method and s.url.split("?")[0].lower().endswith(write.path_suffix.lower())
    ]
    assert matching, f"{write.name} sent no {write.method} …{write.path_suffix}: {[(s.method, s.url) for s in sent]}"
    request = matching[0]
    assert 200 <= request.status < 300, f"the simulator answered {write.name}'s own request {request.status}"
    body = json.loads(request.body) if request.body else None
    before = state(sim)
    for what, mutate, code in write.malformed:
        malformed = mutate(body)
        url = with_query(request.url, write.query) if write.query and not isinstance(malformed, bytes) else request.url
        data = (
            malformed if isinstance(malformed, bytes) else None if malformed is None else json.dumps(malformed).encode()
        )
        headers = {**AUTH, "Content-Type": request.content_type or "application/json"}
        if "eventgrid" in request.url:
            headers["aeg-sas-key"] = sim.estate.config.eventgrid_key
        answer = requests.request(write.method, url, data=data, headers=headers, verify=sim.ca_bundle, timeout=10)
        assert answer.status_code == 400, (what, answer.status_code, answer.text)
        error = arm_error(answer)
        assert error["code"] == code, (what, error)
        assert state(sim) == before, f"{what}: a refused request changed the estate"
    finish_operations(sim)
