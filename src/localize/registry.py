"""Named backends for each stage, so the pipeline picks them by name, not by if/elif."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from localize.errors import UsageError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps a backend name to a factory. Factories are called lazily, so heavy imports wait."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[..., T]] = {}

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        def decorator(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._factories:
                raise ValueError(f"{self.kind} backend {name!r} registered twice")
            self._factories[name] = factory
            return factory
        return decorator

    def names(self) -> list[str]:
        return sorted(self._factories)

    def create(self, name: str, **options) -> T:
        """Build the backend ``name``; unknown names raise :class:`UsageError` listing the known ones."""
        try:
            factory = self._factories[name]
        except KeyError:
            raise UsageError(f"unknown {self.kind} backend {name!r}; choose one of: {', '.join(self.names())}") from None
        return factory(**options)
