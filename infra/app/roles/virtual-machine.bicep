// Desktop Virtualization Power On Contributor for the service's identity on one virtual machine a recovery plan names:
// start a deallocated standby session host; read its power state.
param vmName string
param principalId string

var desktopVirtualizationPowerOnContributor = '489581de-a3bd-480d-9518-53dea7416b33' // Desktop Virtualization Power On Contributor

resource target 'Microsoft.Compute/virtualMachines@2024-07-01' existing = {
  name: vmName
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(target.id, principalId, desktopVirtualizationPowerOnContributor)
  scope: target
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', desktopVirtualizationPowerOnContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
