// Test: production-shaped, synthetic data only.
using '../bicep/main.bicep'

param environment = 'test'
param location = 'uksouth'
param storageSku = 'Standard_ZRS'
param softDeleteDays = 14
param sparkMinNodes = 3
param sparkMaxNodes = 6
param sparkAutoPauseMinutes = 15
param sqlAdminGroupName = 'sg-da-platform-engineers'
param sqlAdminGroupObjectId = '00000000-0000-0000-0000-000000000000' // set per tenant
param aclDeploymentPrincipalId = '' // the test release pipeline's service principal
param logRetentionDays = 180
