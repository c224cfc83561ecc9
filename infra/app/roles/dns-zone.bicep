// DNS Zone Contributor for the service's identity on one Azure DNS zone a recovery plan names:
// read and switch the plan's A and CNAME records.
param zoneName string
param principalId string

var dnsZoneContributor = 'befefa01-2a29-4197-83a8-272ff33ce314' // DNS Zone Contributor

resource target 'Microsoft.Network/dnsZones@2018-05-01' existing = {
  name: zoneName
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(target.id, principalId, dnsZoneContributor)
  scope: target
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', dnsZoneContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
