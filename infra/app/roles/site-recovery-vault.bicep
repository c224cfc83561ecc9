// Site Recovery Operator for the service's identity on one Recovery Services vault a recovery plan names:
// planned, unplanned and test failover, test failover cleanup, commit, reprotect of recovery plans; job reads.
param vaultName string
param principalId string

var siteRecoveryOperator = '494ae006-db33-4328-bf46-533a6560a3ca' // Site Recovery Operator

resource target 'Microsoft.RecoveryServices/vaults@2024-04-01' existing = {
  name: vaultName
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(target.id, principalId, siteRecoveryOperator)
  scope: target
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', siteRecoveryOperator)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
