// Key Vault holding the service's secrets; the Function App reads them through Key Vault references
// (@Microsoft.KeyVault(SecretUri=...)) with its managed identity (Key Vault Secrets User, rbac.bicep).
// Secrets: approval-signing-key (always), teams-webhook-url (from the parameter, or set by the operator),
// teams-escalation-webhook-url, webhook-<name> and approval-signing-keys-previous (set by the operator, docs/deploy.md
// and docs/approvals.md, "Rotating the signing key").
param name string
param location string
param tags object = {}

@secure()
param approvalSigningKey string

@secure()
param teamsWebhookUrl string = ''

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  // checkov:skip=CKV_AZURE_109: no VNet in this template: Key Vault references from Flex Consumption resolve over the public endpoint; RBAC (Key Vault Secrets User for the app only) is the gate.
  // checkov:skip=CKV_AZURE_189: same reason: public network access stays on, access is Entra ID and RBAC only.
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource signingKey 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'approval-signing-key'
  properties: {
    // checkov:skip=CKV_AZURE_41: the signing key must not expire under a waiting approval; rotate it as docs/approvals.md says (the previous keys stay accepted).
    value: approvalSigningKey
    contentType: 'text/plain; HMAC-SHA256 key of the approval links'
  }
}

resource teamsWebhook 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(teamsWebhookUrl)) {
  parent: vault
  name: 'teams-webhook-url'
  properties: {
    // checkov:skip=CKV_AZURE_41: a Teams Workflows URL has no expiry of its own; it is replaced when the workflow is recreated.
    // checkov:skip=CKV_AZURE_114: contentType is set below; checkov does not read the properties of a conditional resource (its parser nests them under the condition).
    value: teamsWebhookUrl
    contentType: 'text/uri-list; Teams Workflows webhook of the approvers'
  }
}

output name string = vault.name
output id string = vault.id
output uri string = vault.properties.vaultUri
