// Storage Account Contributor for the service's identity on one storage account a recovery plan names:
// customer-initiated account failover, e.g. FSLogix profiles.
param accountName string
param principalId string

var storageAccountContributor = '17d1049b-9a84-46fb-8f53-869881c3d3ab' // Storage Account Contributor

resource target 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: accountName
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(target.id, principalId, storageAccountContributor)
  scope: target
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageAccountContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
