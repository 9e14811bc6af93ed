"""Random byte mutations of a valid file, for the hostile-file tests: flips, cuts, insertions, truncation."""


def mutate(data: bytes, rng) -> bytes:
    """1 to 6 random edits of `data` with `rng` (a random.Random)."""
    data = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        pos, r = rng.randrange(max(len(data), 1)), rng.random()
        if r < 0.5 and data:
            data[pos] = rng.randrange(256)
        elif r < 0.7:
            del data[pos:pos + rng.randint(1, 40)]
        elif r < 0.85:
            data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        else:
            data = data[:pos]
    return bytes(data)
