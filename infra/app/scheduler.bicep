// The Durable Task Scheduler backend (durableBackend = DurableTaskScheduler): a scheduler and the task
// hub whose name host.json's hubName also carries. Access is Entra-only (Durable Task Data Contributor).
param name string
param location string
param tags object = {}
param taskHubName string

@allowed([
  'Consumption'
  'Dedicated'
])
param skuName string = 'Consumption'

@minLength(1)
@description('CIDRs the scheduler admits (main.bicep derives it: the NAT gateway\'s address, else 0.0.0.0/0). An empty list would deny every caller.')
param ipAllowlist array

resource scheduler 'Microsoft.DurableTask/schedulers@2025-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    sku: {
      name: skuName
    }
    // Callers must also present an Entra ID token with the Durable Task Data Contributor role (rbac.bicep):
    // the allow-list narrows where they may call from, it is not the authentication.
    ipAllowlist: ipAllowlist
  }
}

resource taskHub 'Microsoft.DurableTask/schedulers/taskHubs@2025-11-01' = {
  parent: scheduler
  name: taskHubName
}

output name string = scheduler.name
output id string = scheduler.id
output endpoint string = scheduler.properties.endpoint
output taskHubName string = taskHub.name
