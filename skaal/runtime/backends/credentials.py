"""Server credentials read from AWS Secrets Manager when a connection opens.

The aws target lets RDS manage each PostgreSQL master password: RDS
generates it, rotates it and keeps it in a Secrets Manager secret (a JSON
object with ``username`` and ``password``).  A function's environment then
holds the connection URL without a password and, in
``<connection variable>_SECRET_ARN`` (:func:`skaal.plan.wiring.credentials_env`),
the ARN of that secret -- never the password itself.

:class:`SecretPassword` is the password a driver asks for each time it opens
a connection (``asyncpg`` accepts an async callable): it reads the secret
then, so a rotated password is picked up by the next connection without a
restart.  Connection settings (endpoint override, credentials, retries) are
those of :class:`~skaal.runtime.backends.aws_client.AwsSession`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import msgspec

from skaal.errors import SkaalRuntimeError
from skaal.runtime.ports import BackendSettings
from skaal.runtime.retry import Safety

__all__ = ["CredentialsError", "SecretPassword", "secret_password"]


class CredentialsError(SkaalRuntimeError):
    """A server's credentials secret could not be read or has no password."""


class SecretPassword:
    """An async callable returning the ``password`` of one Secrets Manager secret."""

    def __init__(self, settings: BackendSettings, arn: str, *, variable: str) -> None:
        from skaal.runtime.backends.aws_client import AwsSession

        self.arn = arn
        self.variable = variable
        region = arn.split(":")[3] if arn.count(":") >= 6 else ""
        self._session = AwsSession(
            msgspec.structs.replace(settings, region=region or settings.region)
        )

    async def __call__(self) -> str:
        client = self._session.client("secretsmanager")
        arn = self.arn
        response = await self._session.call(
            lambda: client.get_secret_value(SecretId=arn),
            what="read the database credentials",
            where=f"{self.variable} ({arn})",
            safety=Safety.READ,
        )
        text = response.get("SecretString")
        try:
            password = json.loads(text).get("password") if isinstance(text, str) else None
        except (ValueError, AttributeError):
            password = None
        if not isinstance(password, str) or not password:
            raise CredentialsError(
                f"the secret {arn} holds no JSON object with a 'password'",
                where=self.variable,
                fix="point the variable at the RDS-managed master secret of the instance "
                "(its MasterUserSecret ARN)",
            )
        return password


def secret_password(settings: BackendSettings, connection_env: str) -> SecretPassword | None:
    """The password reader of the server read from ``connection_env``, ``None`` without one."""
    from skaal.plan.wiring import credentials_env

    variable = credentials_env(connection_env)
    arn = _get(settings.env, variable)
    return SecretPassword(settings, arn, variable=variable) if arn else None


def _get(env: Mapping[str, str], name: str) -> str:
    return env.get(name, "").strip()
