// The regional failover service: one resource group in the RECOVERY region (the app must survive the
// outage it handles), plus least-privilege role assignments on the resources a recovery plan names.
// azd layout: `azd up` provisions this, then deploys the `api` service (azure.yaml). See docs/deploy.md.
targetScope = 'subscription'

// ---- where ------------------------------------------------------------------------------------

@minLength(1)
@maxLength(64)
@description('azd environment name; names and tags every resource.')
param environmentName string

@minLength(1)
@description('The RECOVERY region (ARM name, e.g. northeurope): the Function App and its dependencies live here, never in the primary region.')
@metadata({ azd: { type: 'location' } })
param location string

@minLength(1)
@description('The primary region the plans fail over FROM (ARM name, e.g. westeurope). Must differ from location.')
param primaryLocation string

@minLength(1)
@description('The primary region as Service Health names it (display name, e.g. "West Europe"): the alert rule filters on it.')
param primaryRegionDisplayName string

@description('Service Health service names the alert rule listens to (the plans\' triggers.services); empty: every service.')
param serviceHealthServices array = []

@description('Service Health incident types that fire the alert rule. The service ignores the rest anyway (see docs/triggers.md).')
param serviceHealthIncidentTypes array = [
  'Incident'
]

// ---- runtime ----------------------------------------------------------------------------------

@allowed([
  'AzureStorage'
  'DurableTaskScheduler'
])
@description('Durable Functions backend: the Azure Storage provider (queues, tables, blobs) or the managed Durable Task Scheduler.')
param durableBackend string = 'AzureStorage'

@allowed([
  'Consumption'
  'Dedicated'
])
@description('Durable Task Scheduler SKU (durableBackend = DurableTaskScheduler only).')
param schedulerSku string = 'Consumption'

@description('Python version of the Flex Consumption runtime: 3.13, the version tests/test_worker_load.py loads the app on (docs/deploy.md).')
param pythonVersion string = '3.13'

@minValue(40)
@maxValue(1000)
@description('Flex Consumption scale-out limit.')
param maximumInstanceCount int = 40

@allowed([
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Subnet (resource id) to integrate the Function App with (delegated to Microsoft.App/environments); empty: no VNet integration, outbound traffic leaves from Azure\'s shared addresses.')
param appSubnetId string = ''

@description('Public IP address of the NAT gateway on appSubnetId: then every outbound call of the app leaves from it, and the Durable Task Scheduler admits only it. Empty: no NAT gateway.')
param natGatewayPublicIp string = ''

@description('Durable Task Scheduler IP allow-list (CIDRs). Empty: derived - the NAT gateway\'s address when natGatewayPublicIp is set, otherwise 0.0.0.0/0, because Flex Consumption has no stable outbound address without VNet integration and a NAT gateway; the control is then Entra ID (the app\'s identity and the Durable Task Data Contributor role), see docs/deploy.md.')
param schedulerAllowedIps array = []

@description('NCRONTAB schedule of the monthly drill timer (FAILOVER_DRILL_SCHEDULE).')
param drillSchedule string = '0 0 2 1 * *'

@description('FAILOVER_LOG_LEVEL')
param logLevel string = 'INFO'

@description('Azure Monitor Logs query endpoint (FAILOVER_LOGS_ENDPOINT); change it in sovereign clouds.')
param logsEndpoint string = 'https://api.loganalytics.io'

@description('Base URL of the approval links (FAILOVER_PUBLIC_BASE_URL); empty: https://<function app>.azurewebsites.net.')
param publicBaseUrl string = ''

@description('Client id of the Entra app registration App Service Authentication signs approvers in with (X-MS-CLIENT-PRINCIPAL-NAME). Required: without it the identity header would not be set by the platform.')
param authClientId string

// ---- secrets (Key Vault; the app reads them through Key Vault references) ---------------------

@secure()
@description('HMAC key of the approval links. main.parameters.json reads it back from Key Vault on every provision (or generates it the first time), so it stays stable.')
param approvalSigningKey string

@secure()
@description('Teams Workflows webhook URL of the approvers. Empty: keep the secret already in Key Vault (set it with az keyvault secret set, docs/deploy.md).')
param teamsWebhookUrl string = ''

@description('Read FAILOVER_ESCALATION_WEBHOOK_URL from the Key Vault secret teams-escalation-webhook-url (create the secret first).')
param escalationWebhook bool = false

@description('Read FAILOVER_APPROVAL_SIGNING_KEYS_PREVIOUS, the keys still accepted after a rotation of the approval signing key (a JSON list), from the Key Vault secret approval-signing-keys-previous (create the secret first).')
param previousSigningKeys bool = false

@description('Names of custom-action webhooks (plan dependencies of kind webhook): each becomes FAILOVER_WEBHOOK_<NAME>, read from the secret webhook-<name>.')
param customWebhookNames array = []

@secure()
@description('https://<app>/api/alerts?code=<function key>: the Action Group webhook. Empty on the first provision (the app has no key yet); see docs/deploy.md.')
param alertWebhookUrl string = ''

@description('Object id of the Entra app registration the Action Group gets its token for (secure webhook, docs/deploy.md). Set: the Action Group calls POST /api/alerts/entra with an Entra ID token and no function key; empty: the function-key fallback (alertWebhookUrl).')
param alertAuthObjectId string = ''

@description('Identifier URI (audience) of that app registration; the secure webhook\'s token is issued for it and App Service Authentication must accept it. Empty: api://<authClientId>, the audience App Service Authentication already allows.')
param alertAuthIdentifierUri string = ''

@secure()
@description('https://<app>/api/events?code=<function key>: the Resource Health event subscription endpoint.')
param eventsWebhookUrl string = ''

@description('Subscribe to Resource Health availability events through Event Grid (needs eventsWebhookUrl).')
param enableResourceHealthEvents bool = false

// ---- what the plans touch: role assignment scopes (ARM resource ids) ---------------------------

@description('Recovery Services vaults of the plans (asr.vault): Site Recovery Operator.')
param siteRecoveryVaultIds array = []

@description('AVD host pools the plans drain and empty, and standby host pools they open (avd.host_pools, standby.host_pool): session host and user session operators.')
param hostPoolIds array = []

@description('Host pools of avd.host_pools marked recovery: provision (also in hostPoolIds): Desktop Virtualization Host Pool Contributor (their VM template and registration token).')
param provisionHostPoolIds array = []

@description('Resource groups of avd.host_pools[].provision.resource_group, where session hosts are built in the recovery region: Virtual Machine Contributor.')
param provisionResourceGroupIds array = []

@description('Resource groups (/subscriptions/<sub>/resourceGroups/<rg>) of the images the recovery: provision host pools\' vmTemplate names as customImageId (a gallery image or version, or a managed image): Regional Failover Image Reader (custom).')
param provisionImageResourceGroupIds array = []

@description('Azure DNS zones of the plans\' dns.records: DNS Zone Contributor.')
param dnsZoneIds array = []

@description('Traffic Manager profiles of the plans\' dns.traffic_manager: Traffic Manager Contributor.')
param trafficManagerProfileIds array = []

@description('Log Analytics workspaces of the plans\' verify.workspace_id: Log Analytics Reader.')
param logAnalyticsWorkspaceIds array = []

@description('SQL failover groups of dependencies of kind sql_failover_group, as ids under the secondary server (.../servers/<server>/failoverGroups/<group>): SQL Server Contributor.')
param sqlFailoverGroupIds array = []

@description('Storage accounts of dependencies of kind storage_account: Storage Account Contributor.')
param storageAccountIds array = []

@description('Standby session host VMs the plans start (standby.vms): Desktop Virtualization Power On Contributor.')
param standbyVmIds array = []

@description('Azure NetApp Files destination volumes of dependencies of kind netapp_replication (.../netAppAccounts/<account>/capacityPools/<pool>/volumes/<volume>): Regional Failover NetApp Replication Operator (custom).')
param netAppVolumeIds array = []

@description('Subscriptions (/subscriptions/<sub>) of the plans\' subscription_id, whose recovery region quotas and resource SKUs the capacity check reads: Regional Failover Capacity Reader (custom).')
param capacitySubscriptionIds array = []

@description('Recovery VNets of the plans\' network.recovery_vnet: Regional Failover Network Reader (custom).')
param recoveryNetworkIds array = []

@description('VPN / ExpressRoute gateways of the plans\' network.gateways: Regional Failover Network Reader (custom).')
param networkGatewayIds array = []

@description('Recovery Services vaults of the plans\' backup_tests[].vault: Regional Failover Restore Operator (custom).')
param backupVaultIds array = []

@description('Resource groups (/subscriptions/<sub>/resourceGroups/<rg>) of backup_tests[].target_resource_group, where restored VMs are created and deleted: Regional Failover Restore Target (custom).')
param restoreTargetResourceGroupIds array = []

@description('Isolated VNets of backup_tests[].network_id, joined by the restored VMs: Regional Failover Restore Target (custom).')
param restoreNetworkIds array = []

@description('Protected VMs of backup_tests[].vm: Regional Failover Restore Source (custom), what Azure Backup checks on a restore\'s source.')
param restoreSourceVmIds array = []

@description('Staging storage accounts of backup_tests[].staging_storage_account: Regional Failover Restore Source (custom).')
param restoreStagingStorageAccountIds array = []

@description('Object id of the person running azd: Key Vault Secrets Officer (to store the Teams webhook URL) and dashboard access. Empty: none.')
param principalId string = ''

@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param principalType string = 'User'

// ---- names ------------------------------------------------------------------------------------

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
  'failover-primary-region': primaryLocation
}
var functionAppName = 'func-failover-${resourceToken}'
var appBaseUrl = empty(publicBaseUrl) ? 'https://${functionAppName}.azurewebsites.net' : publicBaseUrl
// One name for the task hub on either backend; host.json's extensions.durableTask.hubName says the same.
var taskHubName = 'RegionalFailover'

// The Durable Task Scheduler admits only the NAT gateway's address when the app has one (all its outbound calls
// leave from it); otherwise every address, as Flex Consumption without a NAT gateway has no stable one.
var schedulerIpAllowlist = empty(schedulerAllowedIps) ? (empty(natGatewayPublicIp) ? [
  '0.0.0.0/0'
] : [
  '${natGatewayPublicIp}/32'
]) : schedulerAllowedIps
// The resource groups (/subscriptions/<sub>/resourceGroups/<rg>) the custom roles may be assigned in.
var netAppScopes = [for id in netAppVolumeIds: '/subscriptions/${split(id, '/')[2]}/resourceGroups/${split(id, '/')[4]}']
var recoveryNetworkScopes = [for id in recoveryNetworkIds: '/subscriptions/${split(id, '/')[2]}/resourceGroups/${split(id, '/')[4]}']
var gatewayScopes = [for id in networkGatewayIds: '/subscriptions/${split(id, '/')[2]}/resourceGroups/${split(id, '/')[4]}']
var backupVaultScopes = [for id in backupVaultIds: '/subscriptions/${split(id, '/')[2]}/resourceGroups/${split(id, '/')[4]}']
var restoreTargetScopes = [for id in restoreTargetResourceGroupIds: '/subscriptions/${split(id, '/')[2]}/resourceGroups/${split(id, '/')[4]}']
var restoreNetworkScopes = [for id in restoreNetworkIds: '/subscriptions/${split(id, '/')[2]}/resourceGroups/${split(id, '/')[4]}']
var restoreSourceVmScopes = [for id in restoreSourceVmIds: '/subscriptions/${split(id, '/')[2]}/resourceGroups/${split(id, '/')[4]}']
var restoreStagingScopes = [for id in restoreStagingStorageAccountIds: '/subscriptions/${split(id, '/')[2]}/resourceGroups/${split(id, '/')[4]}']

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-failover-${environmentName}'
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-failover-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-failover-${resourceToken}'
    applicationInsightsName: 'appi-failover-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'stfailover${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: 'app-package-${take(resourceToken, 7)}'
  }
}

module keyVault 'app/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: 'kv-failover-${take(resourceToken, 11)}'
    location: location
    tags: tags
    approvalSigningKey: approvalSigningKey
    teamsWebhookUrl: teamsWebhookUrl
  }
}

module eventGrid 'app/eventgrid.bicep' = {
  name: 'eventgrid'
  scope: rg
  params: {
    name: 'evgt-failover-${resourceToken}'
    location: location
    tags: tags
  }
}

module scheduler 'app/scheduler.bicep' = if (durableBackend == 'DurableTaskScheduler') {
  name: 'scheduler'
  scope: rg
  params: {
    name: 'dts-failover-${resourceToken}'
    location: location
    tags: tags
    taskHubName: taskHubName
    skuName: schedulerSku
    ipAllowlist: schedulerIpAllowlist
  }
}

module api 'app/function.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: functionAppName
    planName: 'plan-failover-${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: storage.outputs.deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    keyVaultUri: keyVault.outputs.uri
    eventGridEndpoint: eventGrid.outputs.endpoint
    durableBackend: durableBackend
    schedulerEndpoint: durableBackend == 'DurableTaskScheduler' ? scheduler.outputs.endpoint : ''
    pythonVersion: pythonVersion
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    publicBaseUrl: appBaseUrl
    drillSchedule: drillSchedule
    logLevel: logLevel
    logsEndpoint: logsEndpoint
    authClientId: authClientId
    escalationWebhook: escalationWebhook
    previousSigningKeys: previousSigningKeys
    customWebhookNames: customWebhookNames
    virtualNetworkSubnetId: appSubnetId
  }
}

module alerts 'app/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    actionGroupName: 'ag-failover-${resourceToken}'
    alertRuleName: 'alert-servicehealth-${primaryLocation}-${resourceToken}'
    tags: tags
    alertWebhookUrl: alertWebhookUrl
    entraAlertUrl: '${appBaseUrl}/api/alerts/entra'
    alertAuthObjectId: alertAuthObjectId
    alertAuthIdentifierUri: empty(alertAuthIdentifierUri) ? 'api://${authClientId}' : alertAuthIdentifierUri
    alertAuthTenantId: tenant().tenantId
    primaryRegionDisplayName: primaryRegionDisplayName
    services: serviceHealthServices
    incidentTypes: serviceHealthIncidentTypes
  }
}

module resourceHealth 'app/resource-health.bicep' = if (enableResourceHealthEvents && !empty(eventsWebhookUrl)) {
  name: 'resource-health'
  scope: rg
  params: {
    systemTopicName: 'evgst-health-${resourceToken}'
    tags: tags
    eventsWebhookUrl: eventsWebhookUrl
  }
}

// ---- role assignments -------------------------------------------------------------------------

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    principalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    keyVaultName: keyVault.outputs.name
    eventGridTopicName: eventGrid.outputs.name
    schedulerName: durableBackend == 'DurableTaskScheduler' ? scheduler.outputs.name : ''
    durableBackend: durableBackend
    deployerPrincipalId: principalId
    deployerPrincipalType: principalType
  }
}

// A plan's resources live in other resource groups (often other subscriptions): one small module per
// resource, deployed into that resource's group, assigns the role on the resource itself.
module vaultRoles 'app/roles/site-recovery-vault.bicep' = [for (id, i) in siteRecoveryVaultIds: {
  name: 'role-vault-${i}-${resourceToken}'
  scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
  params: {
    vaultName: last(split(id, '/'))
    principalId: identity.outputs.principalId
  }
}]

module hostPoolRoles 'app/roles/host-pool.bicep' = [for (id, i) in hostPoolIds: {
  name: 'role-hostpool-${i}-${resourceToken}'
  scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
  params: {
    hostPoolName: last(split(id, '/'))
    principalId: identity.outputs.principalId
  }
}]

module provisionHostPoolRoles 'app/roles/host-pool-provision.bicep' = [for (id, i) in provisionHostPoolIds: {
  name: 'role-hostpool-provision-${i}-${resourceToken}'
  scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
  params: {
    hostPoolName: last(split(id, '/'))
    principalId: identity.outputs.principalId
  }
}]

module provisionRgRoles 'app/roles/provision-resource-group.bicep' = [for (id, i) in provisionResourceGroupIds: {
  name: 'role-provision-rg-${i}-${resourceToken}'
  scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
  params: {
    principalId: identity.outputs.principalId
  }
}]

module dnsZoneRoles 'app/roles/dns-zone.bicep' = [for (id, i) in dnsZoneIds: {
  name: 'role-dnszone-${i}-${resourceToken}'
  scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
  params: {
    zoneName: last(split(id, '/'))
    principalId: identity.outputs.principalId
  }
}]

module trafficManagerRoles 'app/roles/traffic-manager-profile.bicep' = [for (id, i) in trafficManagerProfileIds: {
  name: 'role-tm-${i}-${resourceToken}'
  scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
  params: {
    profileName: last(split(id, '/'))
    principalId: identity.outputs.principalId
  }
}]

module workspaceRoles 'app/roles/log-analytics-workspace.bicep' = [for (id, i) in logAnalyticsWorkspaceIds: {
  name: 'role-workspace-${i}-${resourceToken}'
  scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
  params: {
    workspaceName: last(split(id, '/'))
    principalId: identity.outputs.principalId
  }
}]

module sqlFailoverGroupRoles 'app/roles/sql-failover-group.bicep' = [for (id, i) in sqlFailoverGroupIds: {
  name: 'role-sqlfg-${i}-${resourceToken}'
  scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
  params: {
    serverName: split(id, '/')[8]
    failoverGroupName: split(id, '/')[10]
    principalId: identity.outputs.principalId
  }
}]

module storageAccountRoles 'app/roles/storage-account.bicep' = [for (id, i) in storageAccountIds: {
  name: 'role-storage-${i}-${resourceToken}'
  scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
  params: {
    accountName: last(split(id, '/'))
    principalId: identity.outputs.principalId
  }
}]

module standbyVmRoles 'app/roles/virtual-machine.bicep' = [for (id, i) in standbyVmIds: {
  name: 'role-vm-${i}-${resourceToken}'
  scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
  params: {
    vmName: last(split(id, '/'))
    principalId: identity.outputs.principalId
  }
}]

// Custom roles where no built-in role is narrow enough (NetApp, network reads, restore tests): defined in this
// subscription, assignable in the resource groups of the ids above (union: each group once).
module customRoles 'app/custom-roles.bicep' = {
  name: 'custom-roles-${resourceToken}'
  params: {
    suffix: '${environmentName}-${resourceToken}'
    capacityScopes: union(capacitySubscriptionIds, capacitySubscriptionIds)
    netAppScopes: union(netAppScopes, netAppScopes)
    networkScopes: union(recoveryNetworkScopes, gatewayScopes)
    restoreVaultScopes: union(backupVaultScopes, backupVaultScopes)
    restoreTargetScopes: union(restoreTargetScopes, restoreNetworkScopes)
    restoreSourceScopes: union(restoreSourceVmScopes, restoreStagingScopes)
    imageScopes: union(provisionImageResourceGroupIds, provisionImageResourceGroupIds)
  }
}

module provisionImageRoles 'app/roles/resource-group.bicep' = [for (id, i) in provisionImageResourceGroupIds: {
  name: 'role-provision-image-${i}-${resourceToken}'
  scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
  params: {
    principalId: identity.outputs.principalId
    roleId: customRoles.outputs.imageReaderId
  }
}]

module capacityRoles 'app/roles/subscription.bicep' = [for (id, i) in capacitySubscriptionIds: {
  name: 'role-capacity-${i}-${resourceToken}'
  scope: subscription(split(id, '/')[2])
  params: {
    principalId: identity.outputs.principalId
    roleId: customRoles.outputs.capacityReaderId
  }
}]

module netAppVolumeRoles 'app/roles/netapp-volume.bicep' = [for (id, i) in netAppVolumeIds: {
  name: 'role-netapp-${i}-${resourceToken}'
  scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
  params: {
    accountName: split(id, '/')[8]
    poolName: split(id, '/')[10]
    volumeName: split(id, '/')[12]
    principalId: identity.outputs.principalId
    roleId: customRoles.outputs.netAppReplicationOperatorId
  }
}]

module recoveryNetworkRoles 'app/roles/virtual-network.bicep' = [for (id, i) in recoveryNetworkIds: {
  name: 'role-vnet-${i}-${resourceToken}'
  scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
  params: {
    vnetName: last(split(id, '/'))
    principalId: identity.outputs.principalId
    roleId: customRoles.outputs.networkReaderId
  }
}]

module networkGatewayRoles 'app/roles/network-gateway.bicep' = [for (id, i) in networkGatewayIds: {
  name: 'role-gateway-${i}-${resourceToken}'
  scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
  params: {
    gatewayName: last(split(id, '/'))
    principalId: identity.outputs.principalId
    roleId: customRoles.outputs.networkReaderId
  }
}]

module backupVaultRoles 'app/roles/backup-vault.bicep' = [for (id, i) in backupVaultIds: {
  name: 'role-backup-${i}-${resourceToken}'
  scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
  params: {
    vaultName: last(split(id, '/'))
    principalId: identity.outputs.principalId
    roleId: customRoles.outputs.restoreOperatorId
  }
}]

module restoreTargetRoles 'app/roles/resource-group.bicep' = [for (id, i) in restoreTargetResourceGroupIds: {
  name: 'role-restore-rg-${i}-${resourceToken}'
  scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
  params: {
    principalId: identity.outputs.principalId
    roleId: customRoles.outputs.restoreTargetId
  }
}]

module restoreNetworkRoles 'app/roles/virtual-network.bicep' = [for (id, i) in restoreNetworkIds: {
  name: 'role-restore-vnet-${i}-${resourceToken}'
  scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
  params: {
    vnetName: last(split(id, '/'))
    principalId: identity.outputs.principalId
    roleId: customRoles.outputs.restoreTargetId
  }
}]

module restoreSourceVmRoles 'app/roles/restore-source-vm.bicep' = [for (id, i) in restoreSourceVmIds: {
  name: 'role-restore-vm-${i}-${resourceToken}'
  scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
  params: {
    vmName: last(split(id, '/'))
    principalId: identity.outputs.principalId
    roleId: customRoles.outputs.restoreSourceId
  }
}]

module restoreStagingRoles 'app/roles/restore-staging-account.bicep' = [for (id, i) in restoreStagingStorageAccountIds: {
  name: 'role-restore-staging-${i}-${resourceToken}'
  scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
  params: {
    accountName: last(split(id, '/'))
    principalId: identity.outputs.principalId
    roleId: customRoles.outputs.restoreSourceId
  }
}]

// ---- azd reads these into its environment -----------------------------------------------------

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_FUNCTION_APP_NAME string = api.outputs.name
output SERVICE_API_NAME string = api.outputs.name
output FAILOVER_PUBLIC_BASE_URL string = appBaseUrl
output FAILOVER_EVENTGRID_ENDPOINT string = eventGrid.outputs.endpoint
output FAILOVER_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output FAILOVER_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output ACTION_GROUP_ID string = alerts.outputs.actionGroupId
