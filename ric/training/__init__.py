"""Training of the reversible inductive construction models (``ric train``)."""
