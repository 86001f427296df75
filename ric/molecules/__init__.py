"""Chemistry layer: the Kekulé molecule state, standardisation, canonical forms and file I/O."""
