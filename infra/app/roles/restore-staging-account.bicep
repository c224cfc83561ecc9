// Regional Failover Restore Source (custom, app/custom-roles.bicep) for the service's identity on one staging
// storage account a restore test names (backup_tests[].staging_storage_account), which Azure Backup writes to.
param accountName string
param principalId string

@description('Id (GUID) of the custom role, from app/custom-roles.bicep.')
param roleId string

resource target 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: accountName
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
