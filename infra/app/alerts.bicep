// Alerts in: an Action Group whose webhook calls the app with the common alert schema - POST /api/alerts/entra
// with an Entra ID token (secure webhook), or POST /api/alerts with the function key (fallback) - and a Service
// Health activity-log alert rule for the primary region (and the plans' services) that uses it.
param actionGroupName string
param alertRuleName string
param tags object = {}

@secure()
@description('https://<app>/api/alerts?code=<function key>; empty until the post-deploy step (docs/deploy.md).')
param alertWebhookUrl string = ''

@description('https://<app>/api/alerts/entra: the route the Action Group calls with an Entra ID token (secure webhook).')
param entraAlertUrl string = ''

@description('Object id of the Entra app registration the secure webhook\'s token is issued for. Empty: the function-key fallback.')
param alertAuthObjectId string = ''

@description('Identifier URI of that app registration: the token\'s audience.')
param alertAuthIdentifierUri string = ''

param alertAuthTenantId string = tenant().tenantId

// Secure webhook (Entra ID) when an app registration is given; else the documented fallback, the URL with the
// alerts function's key (docs/deploy.md, "Wire the Action Group").
var secureWebhook = !empty(alertAuthObjectId)
var entraReceiver = {
  name: 'regional-failover-alerts'
  serviceUri: entraAlertUrl
  useCommonAlertSchema: true
  useAadAuth: true
  objectId: alertAuthObjectId
  identifierUri: alertAuthIdentifierUri
  tenantId: alertAuthTenantId
}
var keyReceiver = {
  name: 'regional-failover-alerts'
  serviceUri: alertWebhookUrl
  useCommonAlertSchema: true
  useAadAuth: false
}

param primaryRegionDisplayName string
param services array = []
param incidentTypes array = [
  'Incident'
]

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: actionGroupName
  location: 'Global'
  tags: tags
  properties: {
    groupShortName: 'failover'
    enabled: true
    webhookReceivers: secureWebhook ? [
      entraReceiver
    ] : (empty(alertWebhookUrl) ? [] : [
      keyReceiver
    ])
  }
}

var regionCondition = {
  field: 'properties.impactedServices[*].ImpactedRegions[*].RegionName'
  containsAny: [
    primaryRegionDisplayName
  ]
}
var serviceCondition = {
  field: 'properties.impactedServices[*].ServiceName'
  containsAny: services
}
var incidentCondition = {
  anyOf: [for incidentType in incidentTypes: {
    field: 'properties.incidentType'
    equals: incidentType
  }]
}

resource serviceHealthAlert 'Microsoft.Insights/activityLogAlerts@2020-10-01' = {
  name: alertRuleName
  location: 'Global'
  tags: tags
  properties: {
    description: 'Service Health in ${primaryRegionDisplayName}: starts the regional failover runbook (approval first).'
    enabled: true
    scopes: [
      subscription().id
    ]
    condition: {
      allOf: concat([
        {
          field: 'category'
          equals: 'ServiceHealth'
        }
        incidentCondition
        regionCondition
      ], empty(services) ? [] : [
        serviceCondition
      ])
    }
    actions: {
      actionGroups: [
        {
          actionGroupId: actionGroup.id
        }
      ]
    }
  }
}

output actionGroupId string = actionGroup.id
output alertRuleId string = serviceHealthAlert.id
