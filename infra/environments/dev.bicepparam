// Development: small Spark pool, shortest retention the policy allows.
using '../bicep/main.bicep'

param environment = 'dev'
param location = 'uksouth'
param storageSku = 'Standard_ZRS'
param softDeleteDays = 7
param sparkMinNodes = 3
param sparkMaxNodes = 4
param sparkAutoPauseMinutes = 10
param sqlAdminGroupName = 'sg-da-platform-engineers'
param sqlAdminGroupObjectId = '00000000-0000-0000-0000-000000000000' // set per tenant
param aclDeploymentPrincipalId = '' // the dev release pipeline's service principal, once it exists
param logRetentionDays = 90
