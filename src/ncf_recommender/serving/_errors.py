"""Errors a recommendation request can raise.

:class:`RequestError` (and :class:`HistoryNotSupportedError`) is the caller's
mistake, a 422 over HTTP; :class:`UnknownUserError` and
:class:`UnusableHistoryError` are a 404. Anything else is a bug or a broken
artifact: the HTTP service answers it with a generic 500 and logs the traceback.
"""

from __future__ import annotations

from collections.abc import Sequence

from ncf_recommender.serving._registry import _MODEL_TYPES


class UnknownUserError(LookupError):
    """The user id is not in ``user_mapping`` and cold start is disabled."""

    def __init__(self, user_ids: Sequence[str]) -> None:
        """Name the unknown ids.

        Args:
            user_ids: The unknown user ids.
        """
        self.user_ids = list(user_ids)
        shown = ", ".join(repr(u) for u in self.user_ids[:5])
        more = f" and {len(self.user_ids) - 5} more" if len(self.user_ids) > 5 else ""
        super().__init__(
            f"unknown user_id {shown}{more} (cold start is disabled: "
            "recommendation.cold_start is 'raise')"
        )

    def __str__(self) -> str:
        """The message without ``KeyError``-style quoting."""
        return str(self.args[0])


class RequestError(ValueError):
    """A request the service must refuse with a 422: the message says what is wrong.

    Raised by every check of caller input (``top_n``, user ids, histories,
    request limits). The HTTP service maps this type (and only this one,
    besides schema validation errors) to 422; any other exception is a 500. It
    is a ``ValueError``, so library callers catching that keep working.
    """


class HistoryNotSupportedError(RequestError):
    """A history was given to a model type that does not read one."""

    def __init__(self, model: str) -> None:
        """Name the model.

        Args:
            model: The served model type.
        """
        self.model = model
        super().__init__(
            f"model {model!r} cannot use histories: it scores users it was trained "
            "on, not item sequences; leave history out or serve a sequence model "
            f"({', '.join(sorted(n for n, t in _MODEL_TYPES.items() if t.uses_history))})"
        )


class UnusableHistoryError(ValueError):
    """An unknown user's supplied history holds no item the model knows.

    The HTTP service answers it with a 404 (nothing to recommend from: the user
    and every item are unknown), as it does an unknown user without cold start.
    """

    def __init__(self, user_id: str, item_ids: Sequence[str]) -> None:
        """Name the user and the ids.

        Args:
            user_id: The unknown user id.
            item_ids: The supplied item ids, none of them in ``item_mapping``.
        """
        self.user_id = user_id
        self.item_ids = list(item_ids)
        shown = ", ".join(repr(i) for i in self.item_ids[:10])
        more = f" and {len(self.item_ids) - 10} more" if len(self.item_ids) > 10 else ""
        super().__init__(
            f"user_id {user_id!r} is unknown and its history holds no known item: "
            f"unknown item_id {shown}{more}"
        )


class UnknownItemError(LookupError):
    """No metadata for an item id: neither catalogued nor added (HTTP 404)."""

    def __init__(self, item_id: str, reason: str) -> None:
        """Name the id and say where it was looked for.

        Args:
            item_id: The item id asked for.
            reason: Why it has no metadata (which sources were searched).
        """
        self.item_id = item_id
        super().__init__(f"unknown item_id {item_id!r}: {reason}")

    def __str__(self) -> str:
        """The message without ``KeyError``-style quoting."""
        return str(self.args[0])


class NewItemError(ValueError):
    """A well-formed new product the served model cannot take (HTTP 409).

    Raised when the model type cannot score new products, when the id is
    already served, or when nothing in its metadata links it to an item the
    model knows (no known related item, no known item of its category).
    """
