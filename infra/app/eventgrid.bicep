// The custom topic the service publishes its status events to (CloudEvents 1.0, docs/events.md).
// Keys are disabled: the app sends with its identity (EventGrid Data Sender, rbac.bicep).
param name string
param location string
param tags object = {}

resource topic 'Microsoft.EventGrid/topics@2024-06-01-preview' = {
  name: name
  location: location
  tags: tags
  properties: {
    // checkov:skip=CKV_AZURE_191: the topic delivers to subscribers' endpoints with their own auth; no destination needs a topic identity, so none is created.
    // checkov:skip=CKV_AZURE_193: subscribers (Logic Apps, Teams bots, dashboards) are outside this template's network; access is Entra-only because local auth is disabled.
    inputSchema: 'CloudEventSchemaV1_0'
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
  }
}

output name string = topic.name
output id string = topic.id
output endpoint string = topic.properties.endpoint
