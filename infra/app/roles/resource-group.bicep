// Regional Failover Restore Target (custom, app/custom-roles.bicep) for the service's identity on the resource
// group a restore test creates its VM in (backup_tests[].target_resource_group). The one assignment on a resource
// group rather than a resource: the restored VM does not exist before the restore creates it. Also Regional Failover
// Image Reader on the resource group of a recovery: provision host pool's image (provisionImageResourceGroupIds).
param principalId string

@description('Id (GUID) of the custom role, from app/custom-roles.bicep.')
param roleId string

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resourceGroup().id, principalId, roleId)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
