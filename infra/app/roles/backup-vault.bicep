// Regional Failover Restore Operator (custom, app/custom-roles.bicep) for the service's identity on one Recovery
// Services vault a restore test names (backup_tests[].vault): list recovery points, restore one, read the job.
param vaultName string
param principalId string

@description('Id (GUID) of the custom role, from app/custom-roles.bicep.')
param roleId string

resource target 'Microsoft.RecoveryServices/vaults@2024-04-01' existing = {
  name: vaultName
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(target.id, principalId, roleId)
  scope: target
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
