"""The ``secrets-manager`` backend: ``Secret`` values from AWS Secrets Manager.

The aws target creates one Secrets Manager secret per declared ``Secret``
(with no value: the operator stores it with ``aws secretsmanager
put-secret-value``) and grants each function ``GetSecretValue`` on it.  This
backend reads the value by the secret's physical name, which follows the
default naming rule of :mod:`skaal.plan.naming` -- the same rule
:func:`skaal.plan.wiring.binding_name` applies to the ``secrets-manager``
implementation (a test holds the two together).

A secret that exists without a value, or does not exist, reads as ``None``,
so a required one fails startup with the runtime's "missing secret" message.
Values are read once per runtime and cached.  Connection settings
(endpoint override, region, retries) are those of
:class:`~skaal.runtime.backends.aws_client.AwsSession`.
"""

from __future__ import annotations

from skaal.runtime.backends.aws_client import AwsProvider, AwsSession
from skaal.runtime.backends.aws_errors import error_code
from skaal.runtime.ports import BackendSettings
from skaal.runtime.retry import Safety

__all__ = ["SecretsManagerProvider", "SecretsManagerSecrets"]

_MISSING = ("ResourceNotFoundException",)


class SecretsManagerSecrets:
    """A ``SecretBackend`` reading Secrets Manager secrets of one app."""

    def __init__(self, session: AwsSession) -> None:
        self._session = session
        self._cache: dict[str, str | None] = {}

    def secret_id(self, name: str) -> str:
        """The physical name of the secret declared as ``name``."""
        return self._session.name(name, service="s3")

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def get(self, name: str) -> str | None:
        if name in self._cache:
            return self._cache[name]
        from botocore.exceptions import ClientError

        client = self._session.client("secretsmanager")
        secret_id = self.secret_id(name)
        try:
            response = await self._session.call(
                lambda: client.get_secret_value(SecretId=secret_id),
                what="read the secret value",
                where=f"secret {name} ({secret_id})",
                safety=Safety.READ,
                allow=_MISSING,
            )
        except ClientError as exc:
            if error_code(exc) not in _MISSING:
                raise
            value = None
        else:
            found = response.get("SecretString")
            value = found if isinstance(found, str) else None
        self._cache[name] = value
        return value


class SecretsManagerProvider(AwsProvider):
    """The ``secrets-manager`` implementation (secrets only)."""

    implementation = "secrets-manager"

    def __init__(self, settings: BackendSettings) -> None:
        super().__init__(settings)
        self._secrets = SecretsManagerSecrets(self.aws)

    def secrets(self) -> SecretsManagerSecrets:
        return self._secrets
