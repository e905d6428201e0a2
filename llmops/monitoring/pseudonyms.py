"""Pseudonymous user ids: a keyed hash, so the raw id is never stored.

The same key must be used by the logger and by ``erase-user``; without the
key, a pseudonym cannot be linked back to a person by guessing ids.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from llmops.errors import ConfigError, InputError

ENV_PSEUDONYM_KEY = "LLMOPS_PSEUDONYM_KEY"
# A file holding the key instead (a mounted secret; the local platform's).
ENV_PSEUDONYM_KEY_FILE = "LLMOPS_PSEUDONYM_KEY_FILE"
MIN_KEY_BYTES = 16


def pseudonym_key_from_env(env: Mapping[str, str] | None = None) -> bytes:
    """The key in LLMOPS_PSEUDONYM_KEY, else in the file LLMOPS_PSEUDONYM_KEY_FILE
    names (``llmops local up`` exports the local platform's); ConfigError if
    neither is set or the key is short."""
    env = os.environ if env is None else env
    raw = env.get(ENV_PSEUDONYM_KEY, "")
    if raw:
        return check_key(raw.encode("utf-8"))
    path = env.get(ENV_PSEUDONYM_KEY_FILE, "")
    if path:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError(
                f"{ENV_PSEUDONYM_KEY_FILE}={path} cannot be read ({error}); point "
                "it at the file holding the key, or set "
                f"{ENV_PSEUDONYM_KEY} instead"
            ) from None
        try:
            return check_key(text.strip().encode("utf-8"))
        except ConfigError as error:
            raise ConfigError(f"{ENV_PSEUDONYM_KEY_FILE}={path}: {error}") from None
    raise ConfigError(
        f"{ENV_PSEUDONYM_KEY} is not set; set it to a secret of at least "
        f"{MIN_KEY_BYTES} characters (in the cloud, from Secret Manager), or "
        f"{ENV_PSEUDONYM_KEY_FILE} to a file holding it (`llmops local up` "
        "exports the local platform's), the same for the logger and for "
        "erase-user"
    )


def check_key(key: bytes) -> bytes:
    """Refuse keys too short to resist guessing."""
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(
            f"the pseudonym key has {len(key)} bytes; use at least {MIN_KEY_BYTES} "
            f"(set {ENV_PSEUDONYM_KEY})"
        )
    return key


def pseudonym(user_id: str, key: bytes) -> str:
    """HMAC-SHA256 of the user id under ``key``, as hex."""
    if not user_id:
        raise InputError("user id is empty; pass the id your app knows the user by")
    return hmac.new(key, user_id.encode("utf-8"), hashlib.sha256).hexdigest()


LOCAL_KEY_FILE = "pseudonym.key"
LOCAL_DEAD_LETTER_FILE = "monitoring-dead-letter.jsonl"


def local_pseudonym_key(state_dir: Path) -> bytes:
    """The local platform's key: LLMOPS_PSEUDONYM_KEY or LLMOPS_PSEUDONYM_KEY_FILE,
    else a secret kept in its folder.

    The file is created on first use, readable by its owner only, so that the
    logger and ``erase-user`` on one machine agree without any setup.
    """
    if os.environ.get(ENV_PSEUDONYM_KEY) or os.environ.get(ENV_PSEUDONYM_KEY_FILE):
        return pseudonym_key_from_env()
    return check_key(ensure_key_file(state_dir).read_text().strip().encode("utf-8"))


def ensure_key_file(state_dir: Path) -> Path:
    """Create the local platform's key file unless it exists; return its path."""
    path = Path(state_dir) / LOCAL_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # created by another process in the meantime
        else:
            with os.fdopen(descriptor, "w") as out:
                out.write(secrets.token_hex(32))
    return path
