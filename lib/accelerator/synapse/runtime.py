"""What a Synapse pool offers the package, behind one small interface, injected where needed.

:class:`SynapseRuntime` wraps ``notebookutils.mssparkutils`` (imported lazily by :meth:`detect`,
never at module level): reading a small file from the lake, a Key Vault secret through the
workspace's Key Vault linked service, and an Azure SDK credential from the workspace identity.
:class:`LocalRuntime` is the same interface on a laptop or in CI. Tests pass a fake ``utils``.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any, NamedTuple, Protocol

KEY_VAULT_LINKED_SERVICE = "ls_keyvault"
"""The Key Vault linked service of the workspace artifacts (infra/synapse/linkedService)."""

STORAGE_AUDIENCE = "Storage"
"""The ``mssparkutils.credentials.getToken`` audience for ADLS Gen2."""

MAX_TEXT_BYTES = 1_048_576
"""Settings and custodianship files are small; refuse to read more than this through ``fs.head``."""


class Runtime(Protocol):
    def read_text(self, path: str) -> str:
        """The text of a small UTF-8 file: a local path, or on Synapse an ``abfss://`` URL."""
        ...

    def secret(self, name: str) -> str:
        """A secret from the environment's Key Vault (never from a file or a variable)."""
        ...

    def credential(self) -> Any:
        """An azure-identity style credential for the Azure SDK, or None for the SDK's default."""
        ...


class LocalRuntime:
    """A laptop or CI: local files; Azure SDK calls sign in with ``DefaultAzureCredential``."""

    def read_text(self, path: str) -> str:
        if "://" in path:
            raise ValueError(f"{path}: a local run reads local files only")
        return Path(path).read_text(encoding="utf-8")

    def secret(self, name: str) -> str:
        raise RuntimeError(f"secret {name!r}: secrets come from Key Vault through Synapse only")

    def credential(self) -> Any:
        return None


class AccessToken(NamedTuple):
    """``azure.core.credentials.AccessToken``'s shape (token, expires_on in epoch seconds)."""

    token: str
    expires_on: int


def token_expiry(token: str) -> int:
    """The ``exp`` claim of a JWT (epoch seconds); 0 when it cannot be read (the SDK then asks for a
    fresh token before each request, which is slower but correct)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return int(claims["exp"])
    except (IndexError, ValueError, KeyError, TypeError):
        return 0


class WorkspaceCredential:
    """An Azure SDK credential whose tokens come from ``mssparkutils.credentials.getToken``: the
    identity the notebook or job runs as (the workspace's managed identity in pipelines)."""

    def __init__(self, utils: Any, audience: str = STORAGE_AUDIENCE) -> None:
        self._utils = utils
        self._audience = audience

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        token = str(self._utils.credentials.getToken(self._audience))
        return AccessToken(token, token_expiry(token))


class SynapseRuntime:
    """``mssparkutils`` on a Synapse Spark pool; build it with :meth:`detect` there, or give ``utils``."""

    def __init__(self, utils: Any, *, key_vault_linked_service: str = KEY_VAULT_LINKED_SERVICE) -> None:
        self.utils = utils
        self.key_vault_linked_service = key_vault_linked_service

    @classmethod
    def detect(cls, *, key_vault_linked_service: str = KEY_VAULT_LINKED_SERVICE) -> SynapseRuntime:
        """The runtime of the current Synapse session; raises ``RuntimeError`` elsewhere."""
        try:
            from notebookutils import mssparkutils
        except ImportError:
            try:
                import mssparkutils
            except ImportError:
                raise RuntimeError(
                    "notebookutils/mssparkutils not found: this is not a Synapse Spark session"
                ) from None
        return cls(mssparkutils, key_vault_linked_service=key_vault_linked_service)

    def read_text(self, path: str) -> str:
        text = str(self.utils.fs.head(path, MAX_TEXT_BYTES))
        if len(text.encode("utf-8")) >= MAX_TEXT_BYTES:
            raise ValueError(f"{path}: larger than {MAX_TEXT_BYTES} bytes")
        return text

    def secret(self, name: str) -> str:
        return str(self.utils.credentials.getSecretWithLS(self.key_vault_linked_service, name))

    def credential(self) -> WorkspaceCredential:
        return WorkspaceCredential(self.utils)
