"""Release use cases: register components and artifacts, move aliases, draft and freeze bundles,
lineage and OpenLineage, reproducibility, audit verification and record integrity.
"""
