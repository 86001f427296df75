"""Distribution-learning metrics with the published definitions (GuacaMol, Brown et al. 2019)."""
