"""The providers a plan can target: a catalog's ``provider`` and a registry record's keys."""

from __future__ import annotations

from typing import Literal

__all__ = ["Provider"]

Provider = Literal["local", "aws", "gcp"]
