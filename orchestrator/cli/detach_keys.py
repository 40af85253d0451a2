"""The key sequence that detaches an attached terminal, written and matched as Docker's.

``--detach-keys`` is a comma-separated list of keys, each a single character or ``ctrl-X``
(X a letter or one of ``@[\\]^_``); the default is ``ctrl-p,ctrl-q``. While the keys typed so far
could still become the sequence they are held back; as soon as they cannot, they are passed on.
"""

from __future__ import annotations

DEFAULT = "ctrl-p,ctrl-q"
_CTRL_SYMBOLS = {"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}


def parse(spec: str | None) -> bytes:
    """The bytes of ``spec``; ValueError naming the key that is not one."""
    keys = bytearray()
    for key in (spec or DEFAULT).split(","):
        low = key.strip().lower()
        if low.startswith("ctrl-") and len(low) == 6:
            c = low[5]
            if "a" <= c <= "z":
                keys.append(ord(c) - ord("a") + 1)
                continue
            if c in _CTRL_SYMBOLS:
                keys.append(_CTRL_SYMBOLS[c])
                continue
        elif len(key) == 1 and ord(key) < 128:
            keys.append(ord(key))
            continue
        raise ValueError(f"invalid detach key {key!r}: use a character or ctrl-<a-z, @, [, \\, ], ^, _>")
    return bytes(keys)


class Scanner:
    """Passes typed bytes on, holding back a possible start of the sequence, until it is complete."""

    def __init__(self, keys: bytes) -> None:
        self.keys = keys
        self.held = b""

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        """(the bytes to pass on now, whether the whole sequence was typed). Nothing typed after
        the sequence is passed on: the user has left."""
        out = bytearray()
        for b in data:
            self.held += bytes((b,))
            while self.held and not self.keys.startswith(self.held):
                out.append(self.held[0])  # cannot start the sequence: pass it, try the rest
                self.held = self.held[1:]
            if self.held == self.keys:
                self.held = b""
                return bytes(out), True
        return bytes(out), False
