// The platform of one environment: the lake (ADLS Gen2), the Synapse workspace whose managed
// identity is the pipeline identity of custodianship.md, its Spark pool, Key Vault and logging.
//
// Access to data is by ACLs set from infra/custodianship.yaml (`accelerator acl apply --account`,
// docs/access.md). Azure data roles override ACLs, so the only data role here is the pipeline's
// (Storage Blob Data Contributor for the Synapse managed identity), plus, when given, Storage Blob
// Data Owner for the release pipeline's service principal that applies the ACLs. No people's
// group gets a data role.
//
// Deploy: az deployment group create -g <rg> -f infra/bicep/main.bicep -p infra/environments/<env>.bicepparam

targetScope = 'resourceGroup'

@description('Environment name, part of every resource name.')
@allowed([
  'dev'
  'test'
  'prod'
])
param environment string

@description('Azure region; UK South keeps the data in the UK.')
param location string = resourceGroup().location

@description('Short lower-case prefix for resource names (storage account names allow 3-24 letters and digits).')
@maxLength(10)
param namePrefix string = 'gmsf'

@description('Storage redundancy: zone- or geo-redundant.')
@allowed([
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
  'Standard_RAGZRS'
])
param storageSku string = 'Standard_GZRS'

@description('Days a deleted blob or container can be restored (soft delete).')
@minValue(7)
@maxValue(365)
param softDeleteDays int = 14

@description('Spark pool autoscale bounds (nodes).')
param sparkMinNodes int = 3
param sparkMaxNodes int = 6

@description('Minutes of idleness before the Spark pool pauses.')
param sparkAutoPauseMinutes int = 15

@description('Entra group that administers Synapse SQL (break-glass: the platform engineers). Its members still reach data only through ACLs.')
param sqlAdminGroupName string

@description('Object id of that group.')
param sqlAdminGroupObjectId string

@description('Object id of the release pipeline service principal that runs `accelerator acl apply`; empty for none.')
param aclDeploymentPrincipalId string = ''

@description('Days the audit logs (storage reads, writes, deletes; Key Vault; Synapse) are kept.')
@minValue(90)
param logRetentionDays int = 365

param tags object = {
  programme: 'Supporting Families'
  region: 'Greater Manchester'
  environment: environment
}

var suffix = '${namePrefix}${environment}'
var storageName = toLower('st${suffix}lake')
var lakeContainer = 'lake' // landing/, bronze/, silver/, gold/ (custodianship.md); the ACLs' root
var synapseContainer = 'synapse' // the workspace's own default file system, no programme data
var roles = {
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
}

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-${suffix}'
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: logRetentionDays
    publicNetworkAccessForIngestion: 'Enabled'
    publicNetworkAccessForQuery: 'Enabled'
  }
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_43: checkov cannot evaluate the interpolated name; it is 'st' + namePrefix (lower-case, 10 at most) + environment + 'lake', 24 characters at most
  name: storageName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: storageSku
  }
  properties: {
    isHnsEnabled: true // ADLS Gen2: directories and POSIX ACLs
    publicNetworkAccess: 'Disabled'
    minimumTlsVersion: 'TLS1_2'
    allowSharedKeyAccess: false // Entra ID only, so every access is a named identity under ACLs
    defaultToOAuthAuthentication: true
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    isLocalUserEnabled: false
    isSftpEnabled: false
    accessTier: 'Hot'
    networkAcls: {
      defaultAction: 'Deny'
      bypass: 'AzureServices' // Synapse reaches the lake through its managed private endpoint
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: {
          enabled: true
          keyType: 'Account'
        }
        file: {
          enabled: true
          keyType: 'Account'
        }
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: softDeleteDays
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: softDeleteDays
    }
  }
}

resource lake 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: lakeContainer
  properties: {
    publicAccess: 'None'
  }
}

resource synapseFs 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: synapseContainer
  properties: {
    publicAccess: 'None'
  }
}

resource blobAudit 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit-to-log-analytics'
  scope: blobService
  properties: {
    workspaceId: logs.id
    logs: [
      {
        category: 'StorageRead'
        enabled: true
      }
      {
        category: 'StorageWrite'
        enabled: true
      }
      {
        category: 'StorageDelete'
        enabled: true
      }
    ]
  }
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: 'kv-${suffix}'
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'premium'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Disabled'
    networkAcls: {
      defaultAction: 'Deny'
      bypass: 'AzureServices'
    }
  }
}

resource vaultAudit 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit-to-log-analytics'
  scope: vault
  properties: {
    workspaceId: logs.id
    logs: [
      {
        categoryGroup: 'audit'
        enabled: true
      }
    ]
  }
}

resource synapse 'Microsoft.Synapse/workspaces@2021-06-01' = {
  // checkov:skip=CKV_AZURE_58: managedVirtualNetwork 'default' is how the ARM API turns the managed VNet on; the check reads that value backwards
  // checkov:skip=CKV_AZURE_157: exfiltration protection is managedVirtualNetworkSettings.preventDataExfiltration (set below); the check looks for a property the ARM API does not have
  // checkov:skip=CKV_AZURE_240: no dedicated SQL pool and no programme data in the workspace: the data is in the lake account (infrastructure encryption); workspace CMK also needs a manual activation after deployment
  name: 'synw-${suffix}'
  location: location
  tags: tags
  identity: {
    type: 'SystemAssigned' // the pipeline identity: its object id goes in custodianship.yaml
  }
  properties: {
    defaultDataLakeStorage: {
      accountUrl: 'https://${storageName}.dfs.${az.environment().suffixes.storage}'
      filesystem: synapseContainer
      resourceId: storage.id
      createManagedPrivateEndpoint: true // the managed private endpoint to this account (dfs)
    }
    managedVirtualNetwork: 'default'
    managedVirtualNetworkSettings: {
      preventDataExfiltration: true
      allowedAadTenantIdsForLinking: []
    }
    managedResourceGroupName: 'rg-${suffix}-synapse-managed'
    publicNetworkAccess: 'Disabled'
    azureADOnlyAuthentication: true
    trustedServiceBypassEnabled: true
  }
}

resource synapseAdmin 'Microsoft.Synapse/workspaces/administrators@2021-06-01' = {
  parent: synapse
  name: 'activeDirectory'
  properties: {
    administratorType: 'ActiveDirectory'
    login: sqlAdminGroupName
    sid: sqlAdminGroupObjectId
    tenantId: subscription().tenantId
  }
}

resource vaultEndpoint 'Microsoft.Synapse/workspaces/managedVirtualNetworks/managedPrivateEndpoints@2021-06-01' = {
  name: '${synapse.name}/default/pe-keyvault'
  properties: {
    privateLinkResourceId: vault.id
    groupId: 'vault'
  }
}

resource spark 'Microsoft.Synapse/workspaces/bigDataPools@2021-06-01' = {
  // checkov:skip=CKV_AZURE_242: isolated compute exists only for the 80-vCore XXXLarge node; the pool already runs in the workspace's managed VNet with exfiltration protection
  parent: synapse
  name: 'sparkpool'
  location: location
  tags: tags
  properties: {
    sparkVersion: '3.5'
    nodeSize: 'Small'
    nodeSizeFamily: 'MemoryOptimized'
    autoScale: {
      enabled: true
      minNodeCount: sparkMinNodes
      maxNodeCount: sparkMaxNodes
    }
    autoPause: {
      enabled: true
      delayInMinutes: sparkAutoPauseMinutes
    }
    sessionLevelPackagesEnabled: true
    dynamicExecutorAllocation: {
      enabled: false
    }
  }
}

resource synapseAudit 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit-to-log-analytics'
  scope: synapse
  properties: {
    workspaceId: logs.id
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
  }
}

// ---- role assignments: the pipeline identity (and the ACL deployment principal) only

resource pipelineLake 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(lake.id, synapse.id, roles.storageBlobDataContributor)
  scope: lake
  properties: {
    principalId: synapse.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
  }
}

resource pipelineSynapseFs 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(synapseFs.id, synapse.id, roles.storageBlobDataContributor)
  scope: synapseFs
  properties: {
    principalId: synapse.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
  }
}

resource pipelineSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, synapse.id, roles.keyVaultSecretsUser)
  scope: vault
  properties: {
    principalId: synapse.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
  }
}

// Setting ACLs on paths it does not own needs Storage Blob Data Owner; only on the lake container,
// only for a service principal (principalType pins it: a group cannot be given this role here).
resource aclDeployment 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(aclDeploymentPrincipalId)) {
  name: guid(lake.id, aclDeploymentPrincipalId, roles.storageBlobDataOwner)
  scope: lake
  properties: {
    principalId: aclDeploymentPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
  }
}

output storageAccountName string = storage.name
output lakeRoot string = 'abfss://${lakeContainer}@${storageName}.dfs.${az.environment().suffixes.storage}/'
output synapseWorkspaceName string = synapse.name
@description('Object id of the pipeline identity: put it in infra/custodianship.yaml (platform.pipeline or object_ids).')
output pipelineObjectId string = synapse.identity.principalId
output keyVaultName string = vault.name
