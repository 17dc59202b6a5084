"""Linkage: records into people (``person_xref``) and people into families (``family_member``).

Runs across all authorities inside the platform, under the pipeline identity.
"""
