"""Sensitive data in a stack's files, found before ``publish`` pushes them to a registry.

A published stack is readable by anyone who may pull it, so, like Compose, ``publish`` lists what
looks like a credential and asks before pushing. The scan is a heuristic over the raw text, line by
line, and is pure: it neither reads files nor prints, and a finding never carries the whole secret,
so the list can be shown on a terminal or in a log without leaking what it warns about.

Two families of detectors run on every line:

* tokens whose shape gives them away (private key headers, cloud and forge tokens, JWTs, URLs that
  embed a password), wherever they appear on the line, comments included, since comments are
  published too;
* assignments (``KEY=value``, ``KEY: value``, ``- KEY=value``, ``"KEY": "value"``) whose key names a
  secret and whose value is a literal, not an interpolation, a file reference or a placeholder.
  Commented-out lines are left to the token detectors: prose such as ``# password: see the wiki``
  is not a credential.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    """One suspected secret, as ``publish`` lists it before asking whether to push anyway."""

    file: str  # the display name given to scan()
    line: int  # 1-based line of the match
    kind: str  # short human name of the detector
    excerpt: str  # the matched secret, redacted


_B64URL = "[A-Za-z0-9_-]"

# Each pattern's ``secret`` group is what gets redacted into the excerpt. The leading look-behinds
# keep a prefix such as ``sk-`` from matching in the middle of an ordinary word ("task-...").
_TOKENS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("private key", re.compile(r"(?P<secret>-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----)")),
    ("AWS access key", re.compile(r"(?<![A-Za-z0-9])(?P<secret>(?:AKIA|ASIA)[A-Z0-9]{16})(?![A-Za-z0-9])")),
    ("GitHub token",
     re.compile(r"(?<![A-Za-z0-9])(?P<secret>gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})")),
    ("GitLab token", re.compile(r"(?<![A-Za-z0-9])(?P<secret>glpat-[A-Za-z0-9_-]{20,})")),
    ("Slack token", re.compile(r"(?<![A-Za-z0-9])(?P<secret>xox[baprs]-[A-Za-z0-9-]{10,})")),
    ("Stripe secret key", re.compile(r"(?<![A-Za-z0-9])(?P<secret>[rs]k_live_[A-Za-z0-9]{10,})")),
    ("Google API key", re.compile(rf"(?<![A-Za-z0-9])(?P<secret>AIza{_B64URL}{{35}})(?!{_B64URL})")),
    ("npm token", re.compile(r"(?<![A-Za-z0-9])(?P<secret>npm_[A-Za-z0-9]{36})(?![A-Za-z0-9])")),
    # "sk-" with a dash: Stripe's "sk_test_"/"sk_live_" use an underscore and are not OpenAI keys.
    ("OpenAI API key", re.compile(rf"(?<![A-Za-z0-9_-])(?P<secret>sk-{_B64URL}{{20,}})")),
    ("JSON Web Token",
     re.compile(rf"(?<!{_B64URL})(?P<secret>eyJ{_B64URL}{{7,}}\.{_B64URL}{{4,}}\.{_B64URL}{{4,}})")),
    # scheme://user:password@ — the user may be empty (redis://:pw@host), and ${VAR:-default} holds a
    # colon. The scheme starts a word and the alternatives never match the same text, so that a long
    # line (inline base64, say) is searched in linear time.
    ("URL with a password",
     re.compile(r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*://(?:\$\{[^}\s]*\}|\$(?!\{)|[^\s:/?#@$])*:"
                r"(?P<secret>(?:\$\{[^}\s]*\}|\$(?!\{)|[^\s/?#@$])+)@")),
)

# Compose substitutes $NAME and ${...} from the environment; "$$" is an escaped, literal dollar.
_INTERPOLATION = re.compile(r"(?<!\$)\$(?:\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*)")

# KEY=value, KEY: value, - KEY=value, export KEY=value, "KEY": "value" (the colon needs a space or a
# quote after it, so that "image: host:5000/app" is not read as a key "host").
_ASSIGNMENT = re.compile(
    r"""^\s*(?:-\s+)?(?:export\s+)?(?P<q>["']?)(?P<key>[A-Za-z_][\w.-]*)(?P=q)"""
    r"""(?:\s*(?P<eq>=)|\s*:(?=\s|$|["']))\s*(?P<value>.*)$"""
)
# - "KEY=value": a quoted list item, the whole of which is the assignment.
_QUOTED_ITEM = re.compile(r"""^\s*-\s+(?P<q>["'])(?P<key>[A-Za-z_][\w.-]*)\s*=(?P<value>.*?)(?P=q)\s*(?:#.*)?$""")

# A plain YAML value starting with one of these is not a literal string: a flow collection, a block
# scalar (its text is on the next lines), an alias, an anchor, a tag, or a comment.
_YAML_NOT_SCALAR = frozenset("{[|>*&!#")

_SECRET_WORDS = ("password", "passwd", "passphrase", "pass", "pwd", "secret", "token", "credential",
                 "apikey", "accesskey", "privatekey")
_SECRET_PAIRS = frozenset({("api", "key"), ("access", "key"), ("private", "key"), ("auth", "key")})
# A key ending in one of these names something about a secret, not the secret: DB_PASSWORD_FILE
# (Docker images read the secret from that path), TOKEN_URL, AUTH_METHOD, PASSWORD_MIN_LENGTH, ...
_ABOUT_A_SECRET = frozenset({"file", "path", "dir", "url", "uri", "host", "port", "endpoint", "name", "id",
                             "ttl", "timeout", "expiry", "length", "type", "method"})
_PLACEHOLDERS = frozenset({"changeme", "change_me", "change-me", "example", "password", "secret", "true",
                           "false", "null", "none", "yes", "no", "on", "off", "~", "todo", "redacted",
                           "placeholder"})

_AWS_SECRET = re.compile(r"[A-Za-z0-9/+=]{40}")
_TOP_LEVEL_SECRETS = re.compile(r"secrets\s*:\s*(?:#.*)?$")


def scan(name: str, text: str) -> list[Finding]:
    """Findings in one file's text, in line order, at most one finding per (line, kind)."""
    findings: list[Finding] = []
    in_secrets_block = False
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.removesuffix("\r")
        if line[:1] not in ("", " ", "\t", "#"):
            # A top-level key starts or ends the compose `secrets:` block, whose entries only say
            # where each secret comes from (file:, environment:, external:, name:).
            in_secrets_block = _TOP_LEVEL_SECRETS.match(line) is not None
        hits = _token_hits(line)
        if not in_secrets_block:
            hits += _assignment_hit(line, [secret for _, _, secret in hits])
        seen: set[str] = set()
        for _, kind, secret in sorted(hits):
            if kind not in seen:
                seen.add(kind)
                findings.append(Finding(name, number, kind, _redact(secret)))
    return findings


def _token_hits(line: str) -> list[tuple[int, str, str]]:
    """(column, kind, secret) of every token-shaped secret on the line."""
    hits: list[tuple[int, str, str]] = []
    for kind, pattern in _TOKENS:
        for match in pattern.finditer(line):
            secret = match["secret"]
            if not _INTERPOLATION.search(secret):
                hits.append((match.start("secret"), kind, secret))
    return hits


def _assignment_hit(line: str, tokens: list[str]) -> list[tuple[int, str, str]]:
    """The literal secret assigned on the line, unless a token detector already named it more precisely."""
    if line.lstrip().startswith("#"):
        return []
    item = _QUOTED_ITEM.match(line)
    if item:
        key, value, column = item["key"], item["value"].strip(), item.start("value")
    else:
        match = _ASSIGNMENT.match(line)
        if not match:
            return []
        scalar = _scalar(match["value"], yaml=match["eq"] is None)
        if scalar is None:
            return []
        key, value, column = match["key"], scalar, match.start("value")
    if not _names_secret(key) or _not_literal(value) or any(t in value or value in t for t in tokens):
        return []
    lowered = key.lower()
    if "aws" in lowered and "secret" in lowered and _AWS_SECRET.fullmatch(value):
        return [(column, "AWS secret access key", value)]
    return [(column, "password assignment", value)]


def _scalar(raw: str, *, yaml: bool) -> str | None:
    """The value a YAML or env-file line assigns: unquoted, its trailing comment cut; None if not a string."""
    raw = raw.strip()
    if raw[:1] in ("'", '"'):
        end = raw.find(raw[0], 1)
        return raw[1:end] if end > 0 else raw[1:]
    if yaml and raw[:1] in _YAML_NOT_SCALAR:
        return None
    return re.split(r"\s#", raw, maxsplit=1)[0].strip()


def _names_secret(key: str) -> bool:
    """Whether a key names a secret: DB_PASSWORD, client_secret, apiKey, PGPASSWORD, BASIC_AUTH."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key)  # apiKey -> api_Key
    words = [w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w]
    if not words or words[-1] in _ABOUT_A_SECRET or words[-1].removesuffix("s") in _ABOUT_A_SECRET:
        return False
    if words[-1].endswith("auth"):
        # Only last: as a leading word "auth" names a group of settings (AUTH_METHOD, GF_AUTH_...).
        return True
    if any(pair in _SECRET_PAIRS for pair in itertools.pairwise(words)):
        return True
    return any(_is_secret_word(word) for word in words)


def _is_secret_word(word: str) -> bool:
    """A secret word itself, its plural, or a run-together name ending in it (pgpassword, clientsecret)."""
    stem = word.removesuffix("s")
    # Short words must match whole: "bypass" and "compass" are not passwords.
    return any(w in (word, stem) or (len(w) > 4 and stem.endswith(w)) for w in _SECRET_WORDS)


def _not_literal(value: str) -> bool:
    """Whether a value is no real secret: too short, interpolated, or an obvious placeholder."""
    lowered = value.lower()
    return (
        len(value) < 4
        or _INTERPOLATION.search(value) is not None
        or lowered in _PLACEHOLDERS
        or "changeme" in lowered
        or "example" in lowered
        or (lowered.startswith("<") and lowered.endswith(">"))
        or len(set(lowered) - set("-_. ")) <= 1  # xxxx, ****, xxxx-xxxx
    )


def _redact(secret: str) -> str:
    """At most the first four characters, and never more than half, so the excerpt cannot be the secret."""
    return secret[: min(4, len(secret) // 2)] + "…"
