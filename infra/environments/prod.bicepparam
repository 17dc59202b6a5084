// Production: geo-zone-redundant lake, a year of audit logs.
using '../bicep/main.bicep'

param environment = 'prod'
param location = 'uksouth'
param storageSku = 'Standard_GZRS'
param softDeleteDays = 30
param sparkMinNodes = 3
param sparkMaxNodes = 10
param sparkAutoPauseMinutes = 15
param sqlAdminGroupName = 'sg-da-platform-engineers'
param sqlAdminGroupObjectId = '00000000-0000-0000-0000-000000000000' // set per tenant
param aclDeploymentPrincipalId = '' // the prod release pipeline's service principal
param logRetentionDays = 365
