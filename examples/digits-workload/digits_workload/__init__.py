"""A workload of one's own for fedring: see ``workload.DigitsWorkload`` and the README."""
