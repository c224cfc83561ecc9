// Regional Failover Capacity Reader (custom, app/custom-roles.bicep) for the service's identity on a subscription
// whose recovery region the plans fail over into (each plan's subscription_id): the recovery capacity check reads
// that region's quota usage (Microsoft.Compute and Microsoft.Network locations/usages) and the resource SKUs, and the
// provisioning readiness the region's marketplace image versions. The one assignment on a subscription: those are
// subscription-level resources, there is no narrower scope to read them at; the role grants these four reads and
// nothing else.
targetScope = 'subscription'

param principalId string

@description('Id (GUID) of the custom role, from app/custom-roles.bicep.')
param roleId string

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, roleId)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
