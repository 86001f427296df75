"""The reconstruction network p_θ(move | x̃): featurised PyG data, message passing, move heads."""
