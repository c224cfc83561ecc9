// Desktop Virtualization Host Pool Contributor for the service's identity on one host pool marked
// `recovery: provision`: read its VM template, retrieve or renew its registration token for new session hosts.
param hostPoolName string
param principalId string

var hostPoolContributor = 'e307426c-f9b6-4e81-87de-d99efb3c32bc' // Desktop Virtualization Host Pool Contributor

resource hostPool 'Microsoft.DesktopVirtualization/hostPools@2024-04-03' existing = {
  name: hostPoolName
}

resource registration 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(hostPool.id, principalId, hostPoolContributor)
  scope: hostPool
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', hostPoolContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
