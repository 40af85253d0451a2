"""Dockerfile word splitting and ``$VAR`` expansion, as Docker's shell lexer does it.

Expansion happens for the instructions Docker expands (FROM, COPY, ENV, WORKDIR, ...) but never
for RUN/CMD/ENTRYPOINT, whose shell does its own. Inside single quotes nothing is expanded; the
escape character (``\\`` or the ``# escape=`` directive's choice) protects the next character.
Supported forms: ``$V``, ``${V}``, ``${V:-word}``, ``${V-word}``, ``${V:+word}``, ``${V+word}``.
"""

from __future__ import annotations

from collections.abc import Mapping

from orchestrator.errors import ImageError


def _name_end(text: str, i: int) -> int:
    j = i
    while j < len(text) and (text[j].isalnum() or text[j] == "_"):
        j += 1
    return j


def _brace(text: str, i: int, env: Mapping[str, str], escape: str) -> tuple[str, int]:
    """``text[i]`` is just after ``${``; return (value, index after the closing brace)."""
    j = _name_end(text, i)
    name = text[i:j]
    if not name:
        raise ImageError(f"bad variable substitution in {text!r}")
    if j < len(text) and text[j] == "}":
        return env.get(name, ""), j + 1
    colon = j < len(text) and text[j] == ":"
    k = j + 1 if colon else j
    if k >= len(text) or text[k] not in "-+":
        raise ImageError(f"unsupported variable modifier in {text!r}")
    op = text[k]
    depth, m = 1, k + 1
    while m < len(text):
        if text[m] == escape:
            m += 2
            continue
        if text[m] == "{":
            depth += 1
        elif text[m] == "}":
            depth -= 1
            if depth == 0:
                break
        m += 1
    if depth:
        raise ImageError(f"missing '}}' in {text!r}")
    word = expand(text[k + 1:m], env, escape)
    value = env.get(name)
    is_set = value is not None and (value != "" or not colon)
    if op == "-":
        return (value if is_set and value is not None else word), m + 1
    return (word if is_set else ""), m + 1


def _dollar(text: str, i: int, env: Mapping[str, str], escape: str) -> tuple[str, int]:
    """``text[i]`` is ``$``; return (expansion, next index)."""
    if i + 1 < len(text) and text[i + 1] == "{":
        return _brace(text, i + 2, env, escape)
    j = _name_end(text, i + 1)
    if j == i + 1:
        return "$", i + 1
    return env.get(text[i + 1:j], ""), j


def split_words(text: str, env: Mapping[str, str] | None, escape: str = "\\") -> list[str]:
    """Split into words, removing quotes and escapes; expand variables unless ``env`` is None."""
    words: list[str] = []
    cur: list[str] = []
    in_word = False
    quote = ""
    i = 0
    while i < len(text):
        c = text[i]
        if quote == "'":
            if c == "'":
                quote = ""
            else:
                cur.append(c)
            i += 1
            continue
        if c == escape and i + 1 < len(text):
            nxt = text[i + 1]
            if quote == '"' and nxt not in ('"', escape, "$"):
                cur.append(c)  # inside double quotes only \" \\ \$ are escapes
            cur.append(nxt)
            in_word = True
            i += 2
            continue
        if c == "$" and env is not None:
            value, i = _dollar(text, i, env, escape)
            cur.append(value)
            in_word = True
            continue
        if quote == '"':
            if c == '"':
                quote = ""
            else:
                cur.append(c)
            i += 1
            continue
        if c in "'\"":
            quote = c
            in_word = True
        elif c.isspace():
            if in_word:
                words.append("".join(cur))
                cur, in_word = [], False
        else:
            cur.append(c)
            in_word = True
        i += 1
    if quote:
        raise ImageError(f"unterminated quote in {text!r}")
    if in_word:
        words.append("".join(cur))
    return words


def expand(text: str, env: Mapping[str, str], escape: str = "\\") -> str:
    """Expand variables in one word-ish string, keeping quotes and whitespace as written."""
    out: list[str] = []
    i = 0
    quote = ""
    while i < len(text):
        c = text[i]
        if c == "'" and quote != '"':
            quote = "" if quote == "'" else "'"
        elif c == '"' and quote != "'":
            quote = "" if quote == '"' else '"'
        if c == escape and i + 1 < len(text) and quote != "'":
            if text[i + 1] == "$":
                out.append("$")
            else:
                out.append(text[i:i + 2])
            i += 2
            continue
        if c == "$" and quote != "'":
            value, i = _dollar(text, i, env, escape)
            out.append(value)
            continue
        out.append(c)
        i += 1
    return "".join(out)


def expand_word(text: str, env: Mapping[str, str], escape: str = "\\") -> str:
    """One argument (a path, a user, an image name): expand, then drop quotes and escapes."""
    words = split_words(text, env, escape)
    return " ".join(words)


def key_values(text: str, env: Mapping[str, str], escape: str, what: str) -> list[tuple[str, str]]:
    """``K=V K2="v 2"`` (or the legacy ``K value with spaces``) as in ENV and LABEL."""
    raw = split_words(text, None, escape)
    if not raw:
        raise ImageError(f"{what} needs at least one argument")
    if "=" not in raw[0]:
        if len(raw) < 2:
            raise ImageError(f"{what} {text!r}: expected KEY=VALUE or KEY VALUE")
        key = raw[0]
        rest = text.strip()[len(text.strip().split(None, 1)[0]):].strip()
        return [(key, " ".join(split_words(rest, env, escape)) if rest else "")]
    out = []
    for word in _split_keep_quotes(text, escape):
        if "=" not in word:
            raise ImageError(f"{what} {text!r}: {word!r} is not KEY=VALUE")
        key, _, value = word.partition("=")
        key = expand_word(key, env, escape)
        vals = split_words(value, env, escape) if value else []
        out.append((key, " ".join(vals) if vals else ""))
    return out


def _split_keep_quotes(text: str, escape: str) -> list[str]:
    """Split on unquoted whitespace but leave quotes and escapes in each word for later."""
    words: list[str] = []
    cur: list[str] = []
    quote = ""
    i = 0
    while i < len(text):
        c = text[i]
        if c == escape and quote != "'" and i + 1 < len(text):
            cur.append(text[i:i + 2])
            i += 2
            continue
        if quote:
            if c == quote:
                quote = ""
            cur.append(c)
        elif c in "'\"":
            quote = c
            cur.append(c)
        elif c.isspace():
            if cur:
                words.append("".join(cur))
                cur = []
        else:
            cur.append(c)
        i += 1
    if cur:
        words.append("".join(cur))
    return words
