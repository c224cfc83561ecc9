// Traffic Manager Contributor for the service's identity on one Traffic Manager profile a recovery plan names:
// enable, disable and reprioritise endpoints.
param profileName string
param principalId string

var trafficManagerContributor = 'a4b10055-b0c7-44c2-b00f-c7b5b3550cf7' // Traffic Manager Contributor

resource target 'Microsoft.Network/trafficmanagerprofiles@2022-04-01' existing = {
  name: profileName
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(target.id, principalId, trafficManagerContributor)
  scope: target
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', trafficManagerContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
