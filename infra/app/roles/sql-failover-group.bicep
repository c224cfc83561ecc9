// SQL Server Contributor for the service's identity on one SQL failover group a recovery plan names
// (dependencies of kind sql_failover_group), under the secondary server: read the group, fail it over.
param serverName string
param failoverGroupName string
param principalId string

var sqlServerContributor = '6d8ee4ec-f05a-4a1d-8b00-a9b17e38b437' // SQL Server Contributor

resource failoverGroup 'Microsoft.Sql/servers/failoverGroups@2023-08-01-preview' existing = {
  name: '${serverName}/${failoverGroupName}'
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(failoverGroup.id, principalId, sqlServerContributor)
  scope: failoverGroup
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', sqlServerContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
