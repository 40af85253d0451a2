"""One module per figure group; each exposes ``measure(ctx) -> list[Figure]``."""
