// Regional Failover Network Reader (custom, app/custom-roles.bicep) for the service's identity on one VPN or
// ExpressRoute gateway a plan names (network.gateways): read the gateway and list its connections.
param gatewayName string
param principalId string

@description('Id (GUID) of the custom role, from app/custom-roles.bicep.')
param roleId string

resource target 'Microsoft.Network/virtualNetworkGateways@2024-05-01' existing = {
  name: gatewayName
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
