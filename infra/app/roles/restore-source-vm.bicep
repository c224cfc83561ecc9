// Regional Failover Restore Source (custom, app/custom-roles.bicep) for the service's identity on one protected VM
// a restore test names (backup_tests[].vm): Azure Backup checks the caller may write the source VM of a restore.
param vmName string
param principalId string

@description('Id (GUID) of the custom role, from app/custom-roles.bicep.')
param roleId string

resource target 'Microsoft.Compute/virtualMachines@2024-07-01' existing = {
  name: vmName
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
