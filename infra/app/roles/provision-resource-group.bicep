// Virtual Machine Contributor for the service's identity on the recovery region's resource group where
// `recovery: provision` builds session hosts (avd.host_pools[].provision.resource_group; their subnet is in it):
// create the VMs with their NICs, install the AVD agent extension, delete them. A resource group rather than a
// resource: the VMs do not exist before the run creates them.
param principalId string

var virtualMachineContributor = '9980e02c-c2be-4d73-94e8-173b1dc7cf3c' // Virtual Machine Contributor

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resourceGroup().id, principalId, virtualMachineContributor)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', virtualMachineContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
