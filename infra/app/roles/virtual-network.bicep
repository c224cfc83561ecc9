// A custom role (app/custom-roles.bicep) for the service's identity on one virtual network a plan names:
// Regional Failover Network Reader on a recovery VNet (network.recovery_vnet), Regional Failover Restore Target
// on a restore test's isolated VNet (backup_tests[].network_id, joined by the restored VM).
param vnetName string
param principalId string

@description('Id (GUID) of the custom role, from app/custom-roles.bicep.')
param roleId string

resource target 'Microsoft.Network/virtualNetworks@2024-05-01' existing = {
  name: vnetName
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
