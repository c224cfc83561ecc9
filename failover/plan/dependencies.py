"""A plan's `dependencies` section: what fails over before an ASR group (SQL, storage, NetApp, webhooks)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from failover.plan.fields import Duration, WebhookBody, _Model


class _Dependency(_Model):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
    before_group: str | None = None  # run before this ASR group starts (default: before the first group)
    resource_group: str = ""
    subscription_id: str | None = None
    timeout: Duration = 1800.0


class SqlFailoverGroup(_Dependency):
    """Fail over an Azure SQL failover group ("if one of the apps is dependent on the SQL backend...")."""

    kind: Literal["sql_failover_group"]
    resource_group: str = Field(min_length=1)
    server: str = Field(min_length=1, description="the server in the recovery region (the secondary)")
    failover_group: str = Field(min_length=1)
    allow_data_loss: bool = False


class StorageAccountFailover(_Dependency):
    """Fail over a geo-redundant storage account (FSLogix profile containers on Azure Files)."""

    kind: Literal["storage_account"]
    resource_group: str = Field(min_length=1)
    account: str = Field(min_length=1)


class WebhookAction(_Dependency):
    """A custom action: call a webhook (e.g. an Automation runbook on a hybrid worker driving Hyper-V
    Replica on Azure Local) and wait for its completion callback or the timeout."""

    kind: Literal["webhook"]
    webhook: str = Field(min_length=1, description="settings name: FAILOVER_WEBHOOK_<NAME> holds the URL")
    body: WebhookBody = Field(default_factory=dict)


class NetAppReplication(_Dependency):
    """Break Azure NetApp Files cross-region replication so the destination volume, in the recovery region, becomes
    writable (FSLogix profile containers on Azure NetApp Files). Name the destination volume."""

    kind: Literal["netapp_replication"]
    resource_group: str = Field(min_length=1)
    account: str = Field(min_length=1, description="the NetApp account of the destination volume")
    pool: str = Field(min_length=1)
    volume: str = Field(min_length=1, description="the destination (data protection) volume")
    force: bool = False  # forceBreakReplication: break even while a transfer is running


Dependency = Annotated[
    SqlFailoverGroup | StorageAccountFailover | NetAppReplication | WebhookAction, Field(discriminator="kind")
]
