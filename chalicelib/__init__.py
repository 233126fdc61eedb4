"""o2o-mobility: the domains of the platform, one package each, plus `core`."""
