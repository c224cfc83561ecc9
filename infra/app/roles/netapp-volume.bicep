// Regional Failover NetApp Replication Operator (custom, app/custom-roles.bicep) for the service's identity on one
// Azure NetApp Files destination volume a recovery plan names (dependencies of kind netapp_replication): read the
// volume and its replication status, break the replication.
param accountName string
param poolName string
param volumeName string
param principalId string

@description('Id (GUID) of the custom role, from app/custom-roles.bicep.')
param roleId string

resource target 'Microsoft.NetApp/netAppAccounts/capacityPools/volumes@2024-03-01' existing = {
  name: '${accountName}/${poolName}/${volumeName}'
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
