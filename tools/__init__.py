"""Build-time generators run by ``make generated`` (never installed with the wheel): docs/gold.md
and infra/sql/ from the gold dictionary and the custodianship config, and infra/synapse/ from the
notebooks and jobs. Tests fail when a committed output differs from what these generate."""
