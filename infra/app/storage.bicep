// The Function App's own storage: the deployment package container and, with the Azure Storage
// backend, Durable Functions' queues, tables and blobs. Identity-based access only: shared keys off.
param name string
param location string
param tags object = {}
param deploymentContainerName string

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  // checkov:skip=CKV_AZURE_35: Flex Consumption without VNet integration reaches its storage over the public endpoint; shared keys are off, so only the app's identity (RBAC) gets in.
  // checkov:skip=CKV_AZURE_59: same reason: the public endpoint stays reachable, anonymous blob access and shared keys are off.
  // checkov:skip=CKV_AZURE_206: zone-redundant on purpose: a geo replica would sit in the paired region, which is often the primary region this service fails over from.
  kind: 'StorageV2'
  sku: {
    // Zone-redundant inside the recovery region; the state of a run must survive a zone loss there.
    name: 'Standard_ZRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    dnsEndpointType: 'Standard'
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }

  resource blobServices 'blobServices' = {
    name: 'default'
    properties: {
      deleteRetentionPolicy: {
        enabled: true
        days: 7
      }
    }

    resource deploymentContainer 'containers' = {
      name: deploymentContainerName
      properties: {
        publicAccess: 'None'
      }
    }
  }
}

output name string = storage.name
output id string = storage.id
output deploymentContainerName string = deploymentContainerName
