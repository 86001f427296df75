"""Sampling: the reversible-inductive-construction Markov chain and the generator interface."""
