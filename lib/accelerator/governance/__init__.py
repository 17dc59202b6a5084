"""Governance: custodianship config, storage ACLs (plan, local and Azure back ends), CLI."""
