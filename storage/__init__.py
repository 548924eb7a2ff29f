"""Storage: a small key-value interface (LevelDB and an in-memory twin), key layouts, block store, state tree."""
