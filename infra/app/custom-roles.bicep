// Custom role definitions: the actions a call of activities/ needs where no built-in role is that narrow
// (tests/infra/test_roles.py maps every SDK call to these actions). A role is defined only when main.bicep
// has scopes to assign it on; its assignable scopes are those resource groups (and this subscription, where
// the definition lives). Each name carries the resource token: custom role names are unique per tenant. The
// outputs are the role ids (GUIDs): a role module names the role in its own subscription, as for built-in roles.
targetScope = 'subscription'

@description('Names the roles apart from another environment\'s (custom role names are unique in a tenant).')
param suffix string

@description('Resource group ids (/subscriptions/<sub>/resourceGroups/<rg>) of the NetApp destination volumes.')
param netAppScopes array = []

@description('Subscription ids (/subscriptions/<sub>) whose recovery region quotas the capacity check reads.')
param capacityScopes array = []

@description('Resource group ids of the recovery VNets and their gateways (network readiness reads).')
param networkScopes array = []

@description('Resource group ids of the images (gallery or managed) recovery: provision builds session hosts from.')
param imageScopes array = []

@description('Resource group ids of the Recovery Services vaults of the restore tests.')
param restoreVaultScopes array = []

@description('Resource group ids where restored VMs are created, and of the restore tests\' isolated VNets.')
param restoreTargetScopes array = []

@description('Resource group ids of the protected VMs and of the staging storage accounts of the restore tests.')
param restoreSourceScopes array = []

resource netAppReplicationOperator 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (!empty(netAppScopes)) {
  name: guid(subscription().id, suffix, 'netapp-replication-operator')
  properties: {
    roleName: 'Regional Failover NetApp Replication Operator (${suffix})'
    description: 'Read a destination volume and its replication status; break its cross-region replication.'
    type: 'CustomRole'
    permissions: [
      {
        actions: [
          'Microsoft.NetApp/netAppAccounts/capacityPools/volumes/read'
          'Microsoft.NetApp/netAppAccounts/capacityPools/volumes/replicationStatus/read'
          'Microsoft.NetApp/netAppAccounts/capacityPools/volumes/breakReplication/action'
        ]
        notActions: []
      }
    ]
    assignableScopes: union([
      subscription().id
    ], netAppScopes)
  }
}

resource networkReader 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (!empty(networkScopes)) {
  name: guid(subscription().id, suffix, 'network-reader')
  properties: {
    roleName: 'Regional Failover Network Reader (${suffix})'
    description: 'Read a recovery VNet, a virtual network gateway and its connections.'
    type: 'CustomRole'
    permissions: [
      {
        actions: [
          'Microsoft.Network/virtualNetworks/read'
          'Microsoft.Network/virtualNetworkGateways/read'
          'Microsoft.Network/virtualNetworkGateways/connections/read'
        ]
        notActions: []
      }
    ]
    assignableScopes: union([
      subscription().id
    ], networkScopes)
  }
}

// Recovery capacity, on a plan's subscription: Reader would read every resource of it; the check reads only the
// recovery region's quota usage (compute and network), the resource SKUs (VM size -> family, vCPUs), the
// capacity reservation groups the protected VMs name (each group's instance view and its reservations), and for
// the provisioning readiness whether the region offers a marketplace image (its versions there).
resource capacityReader 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (!empty(capacityScopes)) {
  name: guid(subscription().id, suffix, 'capacity-reader')
  properties: {
    roleName: 'Regional Failover Capacity Reader (${suffix})'
    description: 'Read a region\'s compute and network quota usage, the resource SKUs, capacity reservations and marketplace image versions.'
    type: 'CustomRole'
    permissions: [
      {
        actions: [
          'Microsoft.Compute/locations/usages/read'
          'Microsoft.Compute/skus/read'
          'Microsoft.Compute/capacityReservationGroups/read'
          'Microsoft.Compute/capacityReservationGroups/capacityReservations/read'
          'Microsoft.Network/locations/usages/read'
          'Microsoft.Compute/locations/publishers/artifacttypes/offers/skus/versions/read'
        ]
        notActions: []
      }
    ]
    assignableScopes: union([
      subscription().id
    ], capacityScopes)
  }
}

// recovery: provision, on the resource group of the image its host pool's vmTemplate names (customImageId): Reader
// would read everything in the group; this reads a managed image and gallery image versions (their target regions),
// which the provisioning readiness checks and building a VM from that image needs. A resource group: the template
// may name the gallery's next version, or another image of the group, without a new deployment.
resource imageReader 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (!empty(imageScopes)) {
  name: guid(subscription().id, suffix, 'image-reader')
  properties: {
    roleName: 'Regional Failover Image Reader (${suffix})'
    description: 'Read a managed image and Azure Compute Gallery image versions.'
    type: 'CustomRole'
    permissions: [
      {
        actions: [
          'Microsoft.Compute/images/read'
          'Microsoft.Compute/galleries/images/versions/read'
        ]
        notActions: []
      }
    ]
    assignableScopes: union([
      subscription().id
    ], imageScopes)
  }
}

// Azure Backup restore test, on the vault: Backup Operator could also back up, change protection and
// register servers; the restore test only lists recovery points, restores, and reads the job.
resource restoreOperator 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (!empty(restoreVaultScopes)) {
  name: guid(subscription().id, suffix, 'restore-operator')
  properties: {
    roleName: 'Regional Failover Restore Operator (${suffix})'
    description: 'List a protected VM\'s recovery points, restore one as a new VM, read the restore\'s operation and job.'
    type: 'CustomRole'
    permissions: [
      {
        actions: [
          'Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/recoveryPoints/read'
          'Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/recoveryPoints/restore/action'
          'Microsoft.RecoveryServices/Vaults/backupFabrics/protectionContainers/protectedItems/operationResults/read'
          'Microsoft.RecoveryServices/Vaults/backupJobs/read'
        ]
        notActions: []
      }
    ]
    assignableScopes: union([
      subscription().id
    ], restoreVaultScopes)
  }
}

// Where the restored VM is created (a resource group) and the isolated VNet it joins: what Microsoft's
// "Minimum role requirements for Azure VM backup" (Restore VM) lists instead of Contributor on that group,
// plus reading and deleting the restored VM (backup_restore_start, backup_delete_vm).
resource restoreTarget 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (!empty(restoreTargetScopes)) {
  name: guid(subscription().id, suffix, 'restore-target')
  properties: {
    roleName: 'Regional Failover Restore Target (${suffix})'
    description: 'Create (through Azure Backup), read and delete the restored VM; join the isolated subnet.'
    type: 'CustomRole'
    permissions: [
      {
        actions: [
          'Microsoft.Resources/subscriptions/resourceGroups/write'
          'Microsoft.DomainRegistration/domains/write'
          'Microsoft.Compute/virtualMachines/read'
          'Microsoft.Compute/virtualMachines/write'
          'Microsoft.Compute/virtualMachines/delete'
          'Microsoft.Network/virtualNetworks/read'
          'Microsoft.Network/virtualNetworks/subnets/join/action'
        ]
        notActions: []
      }
    ]
    assignableScopes: union([
      subscription().id
    ], restoreTargetScopes)
  }
}

// The same requirements, on the protected VM (the source of the restore) and the staging storage account.
resource restoreSource 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (!empty(restoreSourceScopes)) {
  name: guid(subscription().id, suffix, 'restore-source')
  properties: {
    roleName: 'Regional Failover Restore Source (${suffix})'
    description: 'What Azure Backup checks on a restore\'s source VM and staging storage account.'
    type: 'CustomRole'
    permissions: [
      {
        actions: [
          'Microsoft.Compute/virtualMachines/write'
          'Microsoft.Storage/storageAccounts/write'
        ]
        notActions: []
      }
    ]
    assignableScopes: union([
      subscription().id
    ], restoreSourceScopes)
  }
}

output netAppReplicationOperatorId string = empty(netAppScopes) ? '' : netAppReplicationOperator.name
output capacityReaderId string = empty(capacityScopes) ? '' : capacityReader.name
output networkReaderId string = empty(networkScopes) ? '' : networkReader.name
output restoreOperatorId string = empty(restoreVaultScopes) ? '' : restoreOperator.name
output restoreTargetId string = empty(restoreTargetScopes) ? '' : restoreTarget.name
output imageReaderId string = empty(imageScopes) ? '' : imageReader.name
output restoreSourceId string = empty(restoreSourceScopes) ? '' : restoreSource.name
