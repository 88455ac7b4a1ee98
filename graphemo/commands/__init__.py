"""Sub-commands of the ``graphemo`` CLI: thin wrappers that parse arguments and call the library."""
