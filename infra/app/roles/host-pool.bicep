// Azure Virtual Desktop operators for the service's identity on one host pool a recovery plan names:
// drain and reopen session hosts (allow new sessions), message users and log their sessions off.
param hostPoolName string
param principalId string

var sessionHostOperator = '2ad6aaab-ead9-4eaa-8ac5-da422f562408' // Desktop Virtualization Session Host Operator
var userSessionOperator = 'ea4bfff8-7fb4-485a-aadd-d4129a0ffaa6' // Desktop Virtualization User Session Operator

resource hostPool 'Microsoft.DesktopVirtualization/hostPools@2024-04-03' existing = {
  name: hostPoolName
}

resource sessionHosts 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(hostPool.id, principalId, sessionHostOperator)
  scope: hostPool
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', sessionHostOperator)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource userSessions 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(hostPool.id, principalId, userSessionOperator)
  scope: hostPool
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', userSessionOperator)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
