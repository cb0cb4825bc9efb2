"""Choosing an executor by name: ``--executor``, the ``executor`` setting, or a Ray address.

The executors register themselves in :data:`localize.delivery.executors.EXECUTORS` when their
module is imported; importing them here makes every name known (none imports Ray itself).
"""

from __future__ import annotations

import os
from typing import Any

from localize.delivery import ray_executor  # noqa: F401 - registers "ray"
from localize.delivery.executors import EXECUTORS, RAY_ADDRESS_ENV, Executor


def choose_executor(name: str | None, address: str | None = None, environ: dict[str, str] | None = None) -> str:
    """The executor to use: the one named (``--executor`` or the ``executor`` setting), else ``ray``
    when a cluster address is given (``ray_address`` or ``$RAY_ADDRESS``), else ``local``."""
    environ = os.environ if environ is None else environ
    if name:
        return name
    return "ray" if address or environ.get(RAY_ADDRESS_ENV) else "local"


def make_executor(name: str | None = None, *, address: str | None = None, **options: Any) -> Executor:
    """Build the executor ``name`` (see :func:`choose_executor`); an unknown name is a one-line
    :class:`~localize.errors.UsageError`, and so is ``ray`` without Ray installed."""
    return EXECUTORS.create(choose_executor(name, address), address=address, **options)
