"""A user module that fails while importing (a missing dependency, a typo at module level)."""

raise RuntimeError("settings.toml not found")
