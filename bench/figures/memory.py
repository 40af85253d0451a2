from bench.context import Context
from bench.model import Figure


def measure(ctx: Context) -> list[Figure]:
    return []
