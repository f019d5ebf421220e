"""Release: registered components and artifacts, aliases, bundles (draft and frozen), completeness,
lineage, the audit chain and the records it binds.
"""
