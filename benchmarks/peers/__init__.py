"""Peer systems the benchmark suite runs side by side with fedring (Flower today)."""
