"""Files: the content-addressed blob store, directory trees, streaming hashes."""
