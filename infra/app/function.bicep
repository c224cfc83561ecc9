// The Function App on Flex Consumption (Linux, Python), in the recovery region, running as the
// user-assigned identity. Every setting the code reads is here (tests/infra/test_settings.py checks it
// against failover.settings.APP_SETTINGS); secrets are Key Vault references, never values.
param name string
param planName string

@description('Subnet to integrate the app with (delegated to Microsoft.App/environments); empty: none.')
param virtualNetworkSubnetId string = ''
param location string
param tags object = {}

param identityId string
param identityClientId string
param storageAccountName string
param deploymentContainerName string
param applicationInsightsConnectionString string
param keyVaultUri string
param eventGridEndpoint string

@allowed([
  'AzureStorage'
  'DurableTaskScheduler'
])
param durableBackend string
param schedulerEndpoint string = ''

param pythonVersion string = '3.13'
param maximumInstanceCount int = 40
param instanceMemoryMB int = 2048

param publicBaseUrl string
param drillSchedule string
param logLevel string = 'INFO'

@description('FAILOVER_EVACUATE_ON_INCIDENT: a Service Health incident hitting several plans of one region starts one evacuation')
param evacuateOnIncident bool = true

@description('FAILOVER_EVACUATION_IN_FLIGHT_CAP: VMs failing over at once in an evacuation, per vault and per recovery region')
@minValue(1)
@maxValue(1000)
param evacuationInFlightCap int = 100
param logsEndpoint string = 'https://api.loganalytics.io'
param authClientId string
param escalationWebhook bool = false
param previousSigningKeys bool = false
param customWebhookNames array = []

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

// Key Vault reference to a secret's latest version (vaultUri ends with '/').
var secretsUri = '${keyVaultUri}secrets'

var platformSettings = [
  // Identity-based host storage (no connection string, no key).
  {
    name: 'AzureWebJobsStorage__accountName'
    value: storageAccountName
  }
  {
    name: 'AzureWebJobsStorage__credential'
    value: 'managedidentity'
  }
  {
    name: 'AzureWebJobsStorage__clientId'
    value: identityClientId
  }
  // Telemetry: the host and the app (failover.telemetry) export OpenTelemetry to Application
  // Insights, authenticated with the identity (local auth is off on the component).
  {
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
    value: applicationInsightsConnectionString
  }
  {
    name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
    value: 'ClientId=${identityClientId};Authorization=AAD'
  }
  {
    name: 'PYTHON_ENABLE_OPENTELEMETRY'
    value: 'true'
  }
  {
    name: 'OTEL_SERVICE_NAME'
    value: 'regional-failover'
  }
  // The host refuses larger request bodies (413) before they reach Python, as the local server does
  // (local/server.py MAX_REQUEST); the handlers then hold JSON bodies to 256 KiB.
  {
    name: 'FUNCTIONS_REQUEST_BODY_SIZE_LIMIT'
    value: '1048576'
  }
]

var serviceSettings = [
  {
    name: 'AZURE_CLIENT_ID'
    value: identityClientId
  }
  {
    name: 'FAILOVER_CREDENTIAL'
    value: 'default'
  }
  {
    name: 'FAILOVER_ARM_ENDPOINT'
    value: environment().resourceManager
  }
  {
    name: 'FAILOVER_EVENTGRID_ENDPOINT'
    value: eventGridEndpoint
  }
  {
    name: 'FAILOVER_LOGS_ENDPOINT'
    value: logsEndpoint
  }
  {
    name: 'FAILOVER_TEAMS_WEBHOOK_URL'
    value: '@Microsoft.KeyVault(SecretUri=${secretsUri}/teams-webhook-url/)'
  }
  {
    name: 'FAILOVER_APPROVAL_SIGNING_KEY'
    value: '@Microsoft.KeyVault(SecretUri=${secretsUri}/approval-signing-key/)'
  }
  {
    name: 'FAILOVER_PUBLIC_BASE_URL'
    value: publicBaseUrl
  }
  {
    name: 'FAILOVER_PLANS_DIR'
    value: 'plans'
  }
  {
    name: 'FAILOVER_LOG_LEVEL'
    value: logLevel
  }
  {
    name: 'FAILOVER_LOG_FORMAT'
    value: 'json'
  }
  {
    name: 'FAILOVER_DRILL_SCHEDULE'
    value: drillSchedule
  }
  {
    name: 'FAILOVER_EVACUATE_ON_INCIDENT'
    value: string(evacuateOnIncident)
  }
  {
    name: 'FAILOVER_EVACUATION_IN_FLIGHT_CAP'
    value: string(evacuationInFlightCap)
  }
]

// Only when the secret exists: an unresolved reference would reach the code as its literal text.
var escalationSettings = escalationWebhook ? [
  {
    name: 'FAILOVER_ESCALATION_WEBHOOK_URL'
    value: '@Microsoft.KeyVault(SecretUri=${secretsUri}/teams-escalation-webhook-url/)'
  }
] : []

// The keys the approval signing key replaced (a JSON list), still accepted for the links and callback URLs they
// signed; only when the secret exists, as above (docs/approvals.md, "Rotating the signing key").
var previousKeySettings = previousSigningKeys ? [
  {
    name: 'FAILOVER_APPROVAL_SIGNING_KEYS_PREVIOUS'
    value: '@Microsoft.KeyVault(SecretUri=${secretsUri}/approval-signing-keys-previous/)'
  }
] : []

// FAILOVER_WEBHOOK_<NAME> for each custom-action webhook; Key Vault names allow only '-'.
var webhookSettings = [for webhook in customWebhookNames: {
  name: 'FAILOVER_WEBHOOK_${toUpper(replace(webhook, '-', '_'))}'
  value: '@Microsoft.KeyVault(SecretUri=${secretsUri}/webhook-${toLower(replace(webhook, '_', '-'))}/)'
}]

// The Durable Task Scheduler backend overrides host.json's storage provider through app settings
// (AzureFunctionsJobHost__<path>), so one host.json serves both backends.
var schedulerSettings = durableBackend == 'DurableTaskScheduler' ? [
  {
    name: 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING'
    value: 'Endpoint=${schedulerEndpoint};Authentication=ManagedIdentity;ClientID=${identityClientId}'
  }
  {
    name: 'AzureFunctionsJobHost__extensions__durableTask__storageProvider__type'
    value: 'azureManaged'
  }
  {
    name: 'AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName'
    value: 'DURABLE_TASK_SCHEDULER_CONNECTION_STRING'
  }
] : []

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    // checkov:skip=CKV_AZURE_225: zone redundancy is left off so the template deploys in any recovery region (Flex offers it in some); region loss is what this app is placed to survive.
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': 'api'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    // checkov:skip=CKV_AZURE_17: Action Group and Event Grid webhooks cannot present client certificates; callers are authenticated by function keys and Entra sign-in.
    // checkov:skip=CKV_AZURE_212: Flex Consumption scales from zero per function; always-ready instances are a cost decision left to the operator.
    // checkov:skip=CKV_AZURE_213: the platform manages Flex Consumption instances (scale to zero); GET /api/health (anonymous) serves external probes instead.
    // checkov:skip=CKV_AZURE_222: Azure Monitor Action Groups, Event Grid and approvers' browsers call the app from the internet; function keys and Entra sign-in gate it.
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    keyVaultReferenceIdentity: identityId
    // VNet integration (optional): with a NAT gateway on the subnet, every outbound call leaves from its address.
    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: pythonVersion
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: concat(platformSettings, serviceSettings, escalationSettings, previousKeySettings, webhookSettings, schedulerSettings)
    }
  }
}

// Basic (user name and password) publishing credentials are off for FTP and the SCM site: deployments use
// Entra ID (azd's OneDeploy with the deployer's identity), so no long-lived password can publish code.
resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

// App Service Authentication: approvers sign in with Entra ID and the platform sets
// X-MS-CLIENT-PRINCIPAL-NAME (clients cannot forge it while this is on). Anonymous requests still
// reach the app: function-key routes (Action Group, Event Grid, operators) need no sign-in.
resource auth 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'authsettingsV2'
  // checkov:skip=CKV_AZURE_13: this resource IS App Service Authentication (authsettingsV2); checkov reads it as the site's web config.
  // checkov:skip=CKV_AZURE_63: HTTP logging belongs to the web config, not to authsettingsV2, which checkov reads as one.
  // checkov:skip=CKV_AZURE_65: detailed error pages belong to the web config, not to authsettingsV2.
  // checkov:skip=CKV_AZURE_66: failed request tracing belongs to the web config, not to authsettingsV2.
  properties: {
    // checkov:skip=CKV_AZURE_80: a .NET Framework version does not apply to a Python app, nor to authsettingsV2.
    // checkov:skip=CKV_AZURE_88: Azure Files mounts do not apply to Flex Consumption, nor to authsettingsV2.
    // checkov:skip=CKV_AZURE_222: public network access is decided on the site (skipped there with its reason), not in authsettingsV2.
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: false
      unauthenticatedClientAction: 'AllowAnonymous'
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: authClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [
            'api://${authClientId}'
          ]
        }
      }
    }
    login: {
      tokenStore: {
        enabled: false
      }
    }
    httpSettings: {
      requireHttps: true
    }
  }
}

output name string = site.name
output id string = site.id
output defaultHostName string = site.properties.defaultHostName
