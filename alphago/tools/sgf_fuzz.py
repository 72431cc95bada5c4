"""Mutated and truncated SGF bytes for fuzzing the loader.

``mutate(data, rng)`` applies one to four random edits to a real record: bit flips,
truncation, deleted / duplicated / inserted spans, junk bytes, unbalanced brackets and
parentheses, swapped property values, huge or negative numbers, deep nesting, other
encodings. ``fuzz(seeds, count, rng)`` yields (name, bytes) pairs for
``sgf.records_from_bytes``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

TOKENS = [b"(", b")", b";", b"[", b"]", b"\\", b"SZ[", b"SZ[0]", b"SZ[52]", b"SZ[-3]",
          b"SZ[19:19]", b"SZ[999999999999999999]", b"KM[1e400]", b"KM[nan]", b"HA[-5]",
          b"AB[zz]", b"AW[aa:ss]", b"AE[aa]", b"B[tt]", b"W[]", b"B[a]", b"B[\xff\xfe]",
          b"CA[UTF-16]", b"CA[no-such-codec]", b"FF[99]", b"GM[2]", b"RE[B+R]", b"RE[]",
          b"\x00", b"\xef\xbb\xbf", b"PL[X]", b"MN[-1]", b"C[" + b"x" * 5000 + b"]"]


def mutate(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        if not out:
            out = bytearray(rng.choice(TOKENS))
        kind = rng.randrange(9)
        i = rng.randrange(len(out))
        j = min(len(out), i + rng.randint(1, 64))
        if kind == 0:  # bit flips
            for _ in range(rng.randint(1, 8)):
                k = rng.randrange(len(out))
                out[k] ^= 1 << rng.randrange(8)
        elif kind == 1:  # truncation
            del out[rng.randrange(len(out)):]
        elif kind == 2:  # deleted span
            del out[i:j]
        elif kind == 3:  # duplicated span
            out[i:i] = out[i:j]
        elif kind == 4:  # random bytes
            out[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 32)))
        elif kind == 5:  # an SGF token where it does not belong
            out[i:i] = rng.choice(TOKENS)
        elif kind == 6:  # deep nesting
            depth = rng.choice([10, 1000, 20000])
            out[i:i] = b"(;" * depth + b")" * rng.choice([0, depth])
        elif kind == 7:  # a number replaced by a huge or negative one
            k = out.find(b"[", i)
            if k >= 0:
                end = out.find(b"]", k)
                if end > k:
                    out[k + 1:end] = rng.choice([b"-1", b"0", b"99999999999999999999",
                                                 b"1e308", b"", b"aa:zz"])
        else:  # another encoding of the whole thing
            try:
                out = bytearray(bytes(out).decode("latin-1").encode(
                    rng.choice(["utf-16", "utf-32", "cp1252"]), errors="ignore"))
            except (UnicodeError, LookupError):
                pass
    return bytes(out)


def fuzz(seeds: list[tuple[str, bytes]], count: int, rng: random.Random
         ) -> Iterator[tuple[str, bytes]]:
    for k in range(count):
        name, data = seeds[rng.randrange(len(seeds))]
        yield f"fuzz{k}:{name}", mutate(data, rng)
