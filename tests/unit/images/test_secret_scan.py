"""The pre-publish secret scan: what it reports, what it must leave alone, and that it never leaks.

Every credential-shaped value is assembled at run time from pieces, so that this file does not itself
contain anything a secret scanner (this one or another) would report.
"""

from __future__ import annotations

import base64
import json
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.images.secret_scan import Finding, scan


def _fill(n: int) -> str:
    """n characters of mixed-case letters and digits, deterministic."""
    return ("Q7mZ2xLp9RtW4kVn" * (n // 16 + 1))[:n]


def _b64(obj: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


PW = "".join(["s3", "cr", "3t-", "pw"])
AWS_ID = "AK" + "IA" + "Q7Z3" * 4
AWS_SECRET = _fill(38) + "/+"
GITHUB = "gh" + "p_" + _fill(36)
GITHUB_PAT = "github" + "_pat_" + _fill(22) + "_" + _fill(59)
GITLAB = "gl" + "pat-" + _fill(20)
SLACK = "xo" + "xb-" + "1234567890-" + _fill(24)
STRIPE = "sk" + "_live_" + _fill(24)
GOOGLE = "AI" + "za" + _fill(35)
NPM = "np" + "m_" + _fill(36)
OPENAI = "s" + "k-" + "proj-" + _fill(40)
JWT = _b64({"alg": "HS256", "typ": "JWT"}) + "." + _b64({"sub": "1234", "admin": True}) + "." + _fill(43)
PEM_RSA = "-----BEGIN " + "RSA PRIVATE KEY-----"


def _one(line: str, kind: str, secret: str, *, name: str = "f.yaml") -> None:
    assert scan(name, line) == [Finding(name, 1, kind, secret[:4] + "…")]


# --- token-shaped secrets -------------------------------------------------------------------------

TOKENS = [
    ("AWS access key", AWS_ID),
    ("AWS access key", "AS" + "IA" + _fill(16).upper()),
    ("GitHub token", GITHUB),
    ("GitHub token", GITHUB_PAT),
    ("GitLab token", GITLAB),
    ("Slack token", SLACK),
    ("Stripe secret key", STRIPE),
    ("Stripe secret key", "rk" + "_live_" + _fill(24)),
    ("Google API key", GOOGLE),
    ("npm token", NPM),
    ("OpenAI API key", OPENAI),
    ("OpenAI API key", "s" + "k-" + _fill(48)),
    ("JSON Web Token", JWT),
]


@pytest.mark.parametrize(("kind", "secret"), TOKENS)
def test_token_found_wherever_it_is(kind: str, secret: str) -> None:
    _one(f"      SOME_SETTING: {secret}", kind, secret)
    _one(f"    command: ['run', '--with={secret}', '-v']", kind, secret)
    _one(f"# left over: {secret}", kind, secret)


@pytest.mark.parametrize("prefix", ["p", "o", "u", "s", "r"])
def test_every_github_token_prefix(prefix: str) -> None:
    token = "gh" + prefix + "_" + _fill(40)
    _one(f"TOKEN_VALUE_IS {token}", "GitHub token", token)


@pytest.mark.parametrize(
    "text",
    [
        "AK" + "IA" + _fill(15).upper(),  # one short
        "AK" + "IA" + _fill(17).upper(),  # one long: part of something else
        "ak" + "ia" + _fill(16).lower(),
        "XAK" + "IA" + _fill(16).upper(),
        "gh" + "p_" + _fill(35),
        "gh" + "x_" + _fill(36),
        "gl" + "pat-" + _fill(19),
        "xo" + "xz-" + _fill(20),
        "sk" + "_test_" + _fill(24),  # Stripe test keys are neither Stripe live nor OpenAI keys
        "pk" + "_live_" + _fill(24),  # publishable
        "AI" + "za" + _fill(34),
        "np" + "m_" + _fill(35),
        "s" + "k-" + _fill(19),
        "task-" + _fill(30),
        "disk-" + _fill(30),
        "ey" + "Jabc.def",
        "abc" + "." + _fill(20) + "." + _fill(20),
        "-----BEGIN " + "PUBLIC KEY-----",
        "-----BEGIN " + "CERTIFICATE-----",
        "sha256:" + "ab12" * 16,
    ],
)
def test_token_lookalikes_are_not_reported(text: str) -> None:
    assert scan("f", f"  label: {text}") == []


@pytest.mark.parametrize("kind", ["", "RSA ", "EC ", "DSA ", "OPENSSH ", "ENCRYPTED "])
def test_private_key_headers(kind: str) -> None:
    header = "-----BEGIN " + kind + "PRIVATE KEY-----"
    text = f"x-key: |\n  {header}\n  {_fill(64)}\n  -----END {kind}PRIVATE KEY-----\n"
    assert scan("k.yaml", text) == [Finding("k.yaml", 2, "private key", "----…")]


def test_pgp_private_key_block_and_escaped_env_value() -> None:
    pgp = "-----BEGIN " + "PGP PRIVATE KEY BLOCK-----"
    assert [f.kind for f in scan("f", pgp)] == ["private key"]
    # A key pasted into an env file on one line is one finding, not also a "password assignment".
    assert [f.kind for f in scan("f.env", f'SSH_PRIVATE_KEY="{PEM_RSA}\\n{_fill(64)}"')] == ["private key"]


# --- URLs with a password ------------------------------------------------------------------------

@pytest.mark.parametrize(
    "line",
    [
        f"DATABASE_URL=postgres://app:{PW}@db:5432/app",
        f"      - REDIS_URL=redis://:{PW}@redis:6379/0",
        f'    command: ["worker", "--broker", "amqp://guest:{PW}@rabbit//"]',
        f"url: https://${{USER}}:{PW}@example.org/x",
    ],
)
def test_url_with_password(line: str) -> None:
    _one(line, "URL with a password", PW)


@pytest.mark.parametrize(
    "line",
    [
        "DATABASE_URL=postgres://app:${DB_PASS}@db/app",
        "DATABASE_URL=postgres://app:$DB_PASS@db/app",
        "DATABASE_URL=postgres://${DB_USER:-app}:${DB_PASS:?required}@db/app",
        "DATABASE_URL=postgres://app:@db/app",
        "DATABASE_URL=postgres://app@db/app",
        "    healthcheck: curl -f http://localhost:8080/health",
        "    image: registry.local:5000/team/app:1.2",
        "    - git@github.com:org/repo.git",
    ],
)
def test_url_without_literal_password(line: str) -> None:
    assert scan("f", line) == []


# --- KEY=value assignments -----------------------------------------------------------------------

@pytest.mark.parametrize(
    "line",
    [
        f"DB_PASSWORD={PW}",
        f"DB_PASSWORD='{PW}'",
        f'DB_PASSWORD="{PW}" # for the dev database',
        f"export DB_PASSWORD={PW}",
        f"      POSTGRES_PASSWORD: {PW}",
        f"      POSTGRES_PASSWORD: '{PW}'   # comment",
        f"      - POSTGRES_PASSWORD={PW}",
        f'      - "POSTGRES_PASSWORD={PW}"',
        f'  "client_secret": "{PW}",',
        f'  "client_secret":"{PW}"',
        f"PGPASSWORD={PW}",
        f"MYSQL_PWD={PW}",
        f"RABBITMQ_DEFAULT_PASS={PW}",
        f"apiKey: {PW}",
        f"API_KEY={PW}",
        f"SECRET_KEY_BASE={PW}",
        f"OAUTH_ACCESS_TOKEN={PW}",
        f"aws_access_key={PW}",
        f"private_key: {PW}",
        f"BASIC_AUTH=admin:{PW}",
        f"SMTP_CREDENTIALS={PW}",
        f"WORDPRESS_AUTH_KEY={PW}",
        f"  db.password = {PW}",
    ],
)
def test_secret_assignment(line: str) -> None:
    found = scan("f", line)
    assert [(f.line, f.kind) for f in found] == [(1, "password assignment")]
    assert found[0].excerpt in (PW[:4] + "…", "admi…")  # BASIC_AUTH's value starts with the user


@pytest.mark.parametrize(
    "line",
    [
        "DB_PASSWORD=",
        "      POSTGRES_PASSWORD:",
        "      - POSTGRES_PASSWORD",
        "DB_PASSWORD=${DB_PASSWORD}",
        "DB_PASSWORD=$DB_PASSWORD",
        'DB_PASSWORD="${DB_PASSWORD:-}"',
        "      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?set it in .env}",
        "      - POSTGRES_PASSWORD=${PG_PASS}",
        'AUTH_HEADER="Bearer ${API_TOKEN}"',
        "      POSTGRES_PASSWORD_FILE: /run/secrets/db_password",
        "      - MYSQL_ROOT_PASSWORD_FILE=/run/secrets/root",
        "TLS_PRIVATE_KEY_PATH=/certs/key.pem",
        "SECRETS_DIR=/run/secrets",
        "DB_PASSWORD=changeme",
        "DB_PASSWORD=change_me",
        "      POSTGRES_PASSWORD: example",
        "DB_PASSWORD=password",
        "CLIENT_SECRET=secret",
        "API_TOKEN=xxxxxxxx",
        "API_TOKEN=XXXX-XXXX-XXXX",
        "API_TOKEN=********",
        "API_TOKEN=<your token here>",
        "      MYSQL_ALLOW_EMPTY_PASSWORD: 'true'",
        "      MYSQL_RANDOM_ROOT_PASSWORD: \"yes\"",
        "DB_PASSWORD=false",
        "password: null",
        "password: ~",
        "DB_PASSWORD=abc",
        "  password: |",
        "  token: *shared_token",
        "  token: {file: ./token.txt}",
        "# DB_PASSWORD=" + PW,
        "      POSTGRES_HOST_AUTH_METHOD: trust",
        "PASSWORD_MIN_LENGTH=12345",
        "TOKEN_TTL=36000",
        "AUTH_URL=https://auth.internal/login",
        "author: Jane Q. Public",
        "tokenizer: bert-base-uncased",
        "BYPASS_PROXY=internal.local",
        "      DB_USER: appuser",
    ],
)
def test_not_a_literal_secret(line: str) -> None:
    assert scan("f", line) == []


def test_aws_secret_access_key() -> None:
    _one(f"AWS_SECRET_ACCESS_KEY={AWS_SECRET}", "AWS secret access key", AWS_SECRET, name=".env")
    _one(f"aws_secret_access_key = {AWS_SECRET}", "AWS secret access key", AWS_SECRET)
    _one(f'      AWS_SECRET_ACCESS_KEY: "{AWS_SECRET}"', "AWS secret access key", AWS_SECRET)
    # not 40 characters, or the key does not say aws: still a secret, of the generic kind
    assert [f.kind for f in scan("f", f"AWS_SECRET_ACCESS_KEY={AWS_SECRET[:30]}")] == ["password assignment"]
    assert [f.kind for f in scan("f", f"SECRET_ACCESS_KEY={AWS_SECRET}")] == ["password assignment"]
    assert scan("f", "AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY}") == []
    assert scan("f", "AWS_SECRET_ACCESS_KEY_FILE=/run/secrets/aws") == []


def test_token_in_a_secret_assignment_is_reported_once_by_its_precise_kind() -> None:
    assert [f.kind for f in scan("f", f"GITHUB_TOKEN={GITHUB}")] == ["GitHub token"]
    assert [f.kind for f in scan("f", f"DB_PASSWORD_URL=postgres://u:{PW}@db")] == ["URL with a password"]
    assert [f.kind for f in scan("f", f'  "id_token": "{JWT}"')] == ["JSON Web Token"]


# --- whole files ---------------------------------------------------------------------------------

CLEAN_COMPOSE = """\
name: shop
services:
  db:
    image: postgres:16-alpine
    environment:
      POSTGRES_USER: shop
      POSTGRES_PASSWORD_FILE: /run/secrets/db_password
      POSTGRES_DB: shop
      POSTGRES_HOST_AUTH_METHOD: scram-sha-256
    secrets:
      - db_password
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -U shop"]
      interval: 5s
  api:
    build:
      context: ./api
      secrets:
        - npm_token
    image: registry.local:5000/shop/api:${TAG:-latest}
    ports:
      - "8080:8080"
    environment:
      - DATABASE_URL=postgres://shop:${DB_PASSWORD}@db:5432/shop
      - API_TOKEN
      - JWT_SECRET=${JWT_SECRET:?missing}
      - SESSION_SECRET=$SESSION_SECRET
      - LOG_LEVEL=info
    env_file: .env
    secrets:
      - source: api_key
        target: /run/secrets/api_key
        mode: 0400
    depends_on:
      db:
        condition: service_healthy
    labels:
      traefik.http.routers.api.rule: Host(`api.shop.local`)
volumes:
  data: {}
secrets:
  db_password:
    file: ./secrets/db_password.txt
  npm_token:
    environment: NPM_TOKEN
  api_key:
    environment: "SHOP_API_KEY"
  github_token:
    external: true
    name: shop_github_token
"""


def test_realistic_compose_file_without_secrets() -> None:
    assert scan("compose.yaml", CLEAN_COMPOSE) == []


def test_top_level_secrets_block_is_not_reported_but_ends_at_the_next_top_level_key() -> None:
    text = "secrets:\n  api_token:\n    environment: API_TOKEN\n  db_password:\n    file: ./pw.txt\n" \
           "  # the password: is in the file\n\nx-defaults:\n  password: @PW@\n"
    assert scan("c.yaml", text.replace("@PW@", PW)) == [Finding("c.yaml", 9, "password assignment", "s3cr…")]


def test_line_numbers_in_a_compose_file() -> None:
    text = (CLEAN_COMPOSE.replace("      - LOG_LEVEL=info\n", "      - LOG_LEVEL=info\n      - STRIPE_KEY=@STRIPE@\n")
            .replace("      POSTGRES_DB: shop\n", "      POSTGRES_DB: shop\n      POSTGRES_PASSWORD: @PW@\n")
            .replace("      test: [", "      # @AWS@\n      test: [")
            .replace("@STRIPE@", STRIPE).replace("@PW@", PW).replace("@AWS@", AWS_ID))
    lines = text.splitlines()
    expected = [
        Finding("compose.yaml", lines.index(f"      POSTGRES_PASSWORD: {PW}") + 1, "password assignment", "s3cr…"),
        Finding("compose.yaml", lines.index(f"      # {AWS_ID}") + 1, "AWS access key", "AKIA…"),
        Finding("compose.yaml", lines.index(f"      - STRIPE_KEY={STRIPE}") + 1, "Stripe secret key", "sk_l…"),
    ]
    assert [f.line for f in expected] == [9, 14, 31]
    assert scan("compose.yaml", text) == expected


def test_line_numbers_in_an_env_file_with_crlf() -> None:
    text = "\r\n".join([
        "# database",
        "DB_HOST=db",
        f"DB_PASSWORD={PW}",
        "",
        "DB_PASSWORD_FILE=/run/secrets/db",
        f"NPM_TOKEN={NPM}",
        f"SENTRY_DSN=https://key:{PW}@sentry.io/1",
        "",
    ])
    assert scan(".env", text) == [
        Finding(".env", 3, "password assignment", "s3cr…"),
        Finding(".env", 6, "npm token", "npm_…"),
        Finding(".env", 7, "URL with a password", "s3cr…"),
    ]


def test_several_kinds_on_one_line_in_column_order_each_kind_once() -> None:
    line = f"    command: run --aws {AWS_ID} --gh {GITHUB} --aws2 {AWS_ID[:-1]}Z --gh2 {GITHUB}"
    found = scan("f", line + "\n" + line)
    assert [(f.line, f.kind) for f in found] == [
        (1, "AWS access key"), (1, "GitHub token"), (2, "AWS access key"), (2, "GitHub token"),
    ]


def test_empty_input() -> None:
    assert scan("f", "") == []
    assert scan("f", "\n\n") == []


# --- redaction -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "secret"), TOKENS)
def test_excerpt_never_contains_the_token(kind: str, secret: str) -> None:
    (finding,) = scan("f", f"value: {secret}")
    assert secret not in finding.excerpt
    assert finding.excerpt.endswith("…")
    assert len(finding.excerpt) <= 5


def test_excerpt_of_a_short_password_keeps_less_than_half() -> None:
    assert scan("f", "DB_PASSWORD=q9z!") == [Finding("f", 1, "password assignment", "q9…")]
    assert scan("f", "DB_PASSWORD=q9z!w") == [Finding("f", 1, "password assignment", "q9…")]


@given(st.text(alphabet=string.ascii_letters + string.digits + "!%^*()+-_=,.;", min_size=1, max_size=60))
def test_excerpt_is_a_strict_prefix_of_the_value(value: str) -> None:
    for finding in scan("f", f"DB_PASSWORD={value}"):
        head = finding.excerpt.removesuffix("…")
        assert value.startswith(head)
        assert len(head) <= min(4, len(value) // 2)
        assert value not in finding.excerpt
