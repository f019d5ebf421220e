"""Arrow and DuckDB: data sources, the one-pass profiler and its kernels, skew checks, cheap probes
of registered files.
"""
