"""Request-scoped values (the caller's language, the principal) in context variables."""

from __future__ import annotations

import contextvars
from types import TracebackType
from typing import Generic, TypeVar

Value = TypeVar("Value")


class ContextScope(Generic[Value]):
    """`with ContextScope(var, value):` sets `var` for the code inside and restores it after.

    A class rather than a generator-based context manager on purpose: when a server stream is
    abandoned mid-flight its scopes are never exited, and a generator would then try to reset
    the variable from the garbage collector, in a context that no longer exists.
    """

    def __init__(self, variable: contextvars.ContextVar[Value], value: Value) -> None:
        self._variable, self._value = variable, value
        self._token: contextvars.Token[Value] | None = None

    def __enter__(self) -> None:
        self._token = self._variable.set(self._value)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._token is not None:
            self._variable.reset(self._token)
            self._token = None
