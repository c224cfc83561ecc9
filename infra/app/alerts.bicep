// Alerts in: an Action Group whose webhook calls POST /api/alerts with the common alert schema, and a
// Service Health activity-log alert rule for the primary region (and the plans' services) that uses it.
param actionGroupName string
param alertRuleName string
param tags object = {}

@secure()
@description('https://<app>/api/alerts?code=<function key>; empty until the post-deploy step (docs/deploy.md).')
param alertWebhookUrl string = ''

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
    webhookReceivers: empty(alertWebhookUrl) ? [] : [
      {
        name: 'regional-failover-alerts'
        serviceUri: alertWebhookUrl
        useCommonAlertSchema: true
        useAadAuth: false
      }
    ]
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
