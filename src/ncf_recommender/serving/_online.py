"""The :class:`Recommender`: a loaded model answering requests for original ids.

Maps original user and item ids to the model's indices, ranks unseen items
(exactly or by retrieval and re-ranking), reads supplied histories for sequence
models and falls back to popular items for unknown users.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from ncf_recommender.evaluation import Scorer, top_k
from ncf_recommender.serving._data import ServingData
from ncf_recommender.serving._errors import (
    HistoryNotSupportedError,
    RequestError,
    UnknownUserError,
    UnusableHistoryError,
)
from ncf_recommender.serving._ranking import (
    Retrieval,
    _top_k_of_users,
    check_top_n,
    retrieve_and_rerank,
)
from ncf_recommender.serving._registry import HistoryScorer, ModelType
from ncf_recommender.serving._results import Recommendation, RecommendedItem


def _check_user_id(user_id: Any) -> str:
    """An original user id as a string (ids are strings in the mappings)."""
    if isinstance(user_id, bool) or not isinstance(user_id, str | int | np.integer):
        raise RequestError(f"user_id must be a string (or integer) id, got {user_id!r}")
    return str(user_id)


class _FixedScores:
    """A scorer over precomputed score rows (row ``i`` is 'user' ``i``)."""

    def __init__(self, scores: np.ndarray) -> None:
        self.scores = scores
        self.n_items = int(scores.shape[1])

    def score(self, users: np.ndarray, items: np.ndarray | None = None) -> np.ndarray:
        rows = self.scores[np.asarray(users)]
        return rows if items is None else np.take_along_axis(rows, items, axis=1)


def _lookup(table: dict[str, int], ids: Sequence[str]) -> np.ndarray:
    """Indices of ids in a hash table, ``-1`` for unknown ids (a request's few ids)."""
    return np.fromiter((table.get(i, -1) for i in ids), dtype=np.int64, count=len(ids))


class Recommender:
    """A loaded model with its id mappings, ready to recommend.

    Attributes:
        scorer: The model's scorer (``score(users, items=None)``).
        data: Mappings, seen items and popularity.
        model_type: The served model type.
        model_version: Version timestamp of the loaded model.
        cold_start: ``popular`` or ``raise``.
        metrics: ``ranking_metrics[model]`` of the model's version, if known.
        metrics_version: Version of the ``ranking_metrics`` those came from.
        selected_by: How the model was chosen (for ``GET /model``).
        retrieval: Candidate retrieval before re-ranking (``None``: exact).
    """

    def __init__(
        self,
        scorer: Scorer,
        data: ServingData,
        model_type: ModelType,
        *,
        model_version: str | None = None,
        cold_start: Literal["popular", "raise"] = "popular",
        metrics: Mapping[str, Any] | None = None,
        metrics_version: str | None = None,
        selected_by: str = "explicit",
        retrieval: Retrieval | None = None,
    ) -> None:
        """Assemble a recommender (see :func:`build_recommender` to load one).

        Args:
            scorer: The model's scorer; its ``n_items`` must match the data.
            data: Serving data.
            model_type: The served model type.
            model_version: Version timestamp of the model.
            cold_start: ``popular`` or ``raise``.
            metrics: The model's metrics.
            metrics_version: Version of the metrics.
            selected_by: How the model was chosen.
            retrieval: Candidate retrieval before re-ranking, or ``None`` to
                score every item.

        Raises:
            ValueError: If the scorer's catalogue size differs from the data's,
                or ``cold_start`` is unknown.
        """
        if int(scorer.n_items) != data.n_items:
            raise ValueError(
                f"the {model_type.name} model scores {scorer.n_items} items but "
                f"item_mapping has {data.n_items}: model and data come from different runs"
            )
        if cold_start not in ("popular", "raise"):
            raise ValueError(
                f"cold_start must be 'popular' or 'raise', got {cold_start!r}"
            )
        self.scorer = scorer
        self.data = data
        self.model_type = model_type
        self.model_version = model_version
        self.cold_start = cold_start
        self.metrics = dict(metrics) if metrics is not None else None
        self.metrics_version = metrics_version
        self.selected_by = selected_by
        self.retrieval = retrieval
        self._user_lookup = {uid: idx for idx, uid in enumerate(data.user_ids)}
        self._item_lookup = {iid: idx for idx, iid in enumerate(data.item_ids)}
        # Most popular first; ties towards the lower item index.
        self._popular = np.lexsort((np.arange(data.n_items), -data.item_users))
        self._popular_scores = data.item_users[self._popular] / max(data.n_users, 1)

    @property
    def model_name(self) -> str:
        """Name of the served model type."""
        return self.model_type.name

    def info(self) -> dict[str, Any]:
        """What is served (for ``GET /model`` and the CLI).

        Returns:
            Model type, version, selection, metrics and catalogue sizes.
        """
        return {
            "model": self.model_name,
            "model_version": self.model_version,
            "selected_by": self.selected_by,
            "metrics": self.metrics,
            "metrics_version": self.metrics_version,
            "n_users": self.data.n_users,
            "n_items": self.data.n_items,
            "cold_start": self.cold_start,
            "uses_history": self.model_type.uses_history,
            "ranking": self.ranking_method,
        }

    @property
    def ranking_method(self) -> str:
        """How lists are ranked: exactly, or by retrieval and re-ranking."""
        if self.retrieval is None and self.model_type.uses_history:
            return (
                f"exact: {self.model_name} scores all {self.data.n_items} items after "
                "each user's history in interactions (train, validation, test)"
            )
        if self.retrieval is None:
            return f"exact: {self.model_name} scores all {self.data.n_items} items"
        if self.retrieval.exact:
            return (
                f"exact: {self.model_name} ranks all {self.data.n_items} items by its "
                "ranking scorer, then scores the top-N"
            )
        return (
            f"{self.retrieval.model} (version {self.retrieval.model_version}) retrieves "
            f"{self.retrieval.candidates} unseen items, {self.model_name} re-ranks them"
        )

    def user_indices(self, user_ids: Sequence[Any]) -> np.ndarray:
        """``user_idx`` of original user ids, ``-1`` for unknown ones.

        Args:
            user_ids: Original user ids.

        Returns:
            int64 array of indices.

        Raises:
            RequestError: If an id is not a string or integer.
        """
        return _lookup(self._user_lookup, [_check_user_id(u) for u in user_ids])

    def top_n_indices(
        self, users: np.ndarray, top_n: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Best unseen items of known users, as indices.

        Args:
            users: ``user_idx`` values.
            top_n: List length (clipped to the catalogue size).

        Returns:
            ``(items, scores)`` of shape ``(B, min(top_n, n_items))``, best first;
            positions past a user's remaining items hold item ``-1``.
        """
        if self.retrieval is not None:
            return retrieve_and_rerank(
                self.scorer,
                self.retrieval.scorer,
                users,
                self.data.seen,
                top_n,
                candidates=self.retrieval.candidates,
            )
        width = min(check_top_n(top_n), self.data.n_items)
        return _top_k_of_users(self.scorer, users, self.data.seen, width)

    def recommend(
        self, user_id: Any, top_n: int = 10, history: Sequence[Any] | None = None
    ) -> Recommendation:
        """Top-N unseen items for one original user id.

        Args:
            user_id: Original user id.
            top_n: Number of items; more than remain gives all remaining items.
            history: Original item ids, oldest first, for models that read a
                history (sequence models): appended after a known user's
                catalogued history; an unknown user's only history. ``None``
                for none.

        Returns:
            The recommendation (unknown history ids in ``ignored_items``).

        Raises:
            RequestError: On a bad ``top_n``, ``user_id`` or ``history``.
            HistoryNotSupportedError: If a history is given to a model type that
                does not read one.
            UnusableHistoryError: If the user is unknown and no supplied item
                is known.
            UnknownUserError: If the user is unknown, has no usable history and
                cold start is disabled.
        """
        histories = None if history is None else [history]
        return self.recommend_many([user_id], top_n, histories)[0]

    def recommend_many(
        self,
        user_ids: Sequence[Any],
        top_n: int = 10,
        histories: Sequence[Sequence[Any] | None] | None = None,
    ) -> list[Recommendation]:
        """Top-N unseen items for several original user ids (scored together).

        Args:
            user_ids: Original user ids.
            top_n: Number of items per user.
            histories: ``None``, or one entry per user id: ``None`` (no
                history) or original item ids, oldest first (see
                :meth:`recommend`).

        Returns:
            One recommendation per id, in order.

        Raises:
            RequestError: On a bad ``top_n``, user id or history.
            ValueError: If ``histories`` does not hold one entry per user id.
            HistoryNotSupportedError: If a history is given to a model type that
                does not read one.
            UnusableHistoryError: If an unknown user's history has no known item.
            UnknownUserError: If any user is unknown, has no usable history and
                cold start is disabled.
        """
        top_n = check_top_n(top_n)
        ids = [_check_user_id(u) for u in user_ids]
        users = _lookup(self._user_lookup, ids)
        supplied = self._supplied_histories(ids, users, histories)
        known = users >= 0
        with_history = np.zeros(len(ids), dtype=bool)
        with_history[list(supplied)] = True
        answered = known | with_history
        if self.cold_start == "raise" and not answered.all():
            raise UnknownUserError(
                [u for u, a in zip(ids, answered, strict=True) if not a]
            )
        ranked: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        by_user = np.flatnonzero(known & ~with_history)
        if by_user.size:
            items, scores = self.top_n_indices(users[by_user], top_n)
            ranked.update(zip(by_user.tolist(), zip(items, scores, strict=True)))
        by_history = np.flatnonzero(with_history)
        if by_history.size:
            items, scores = self._top_n_after_histories(
                users[by_history], [supplied[i][0] for i in by_history], top_n
            )
            ranked.update(zip(by_history.tolist(), zip(items, scores, strict=True)))
        popular = self._popular[:top_n], self._popular_scores[:top_n]
        no_history: tuple[np.ndarray, list[str]] = (np.zeros(0, np.int64), [])
        results = []
        for position, uid in enumerate(ids):
            used, ignored = supplied.get(position, no_history)
            results.append(
                self._result(
                    uid,
                    ranked.get(position, popular),
                    not known[position],
                    ignored_items=tuple(ignored),
                    history_used=int(used.size),
                )
            )
        return results

    def _supplied_histories(
        self,
        ids: Sequence[str],
        users: np.ndarray,
        histories: Sequence[Sequence[Any] | None] | None,
    ) -> dict[int, tuple[np.ndarray, list[str]]]:
        """``{position: (known item indices, ignored ids)}`` of the histories to read.

        A history is read for a known user whenever one is given, and for an
        unknown user when it holds at least one known item.
        """
        if histories is None:
            return {}
        if len(histories) != len(ids):
            raise ValueError(
                f"histories has {len(histories)} entries for {len(ids)} user ids"
            )
        if not self.model_type.uses_history and any(h is not None for h in histories):
            raise HistoryNotSupportedError(self.model_name)
        supplied: dict[int, tuple[np.ndarray, list[str]]] = {}
        for position, history in enumerate(histories):
            if history is None:
                continue
            items, ignored = self._history_indices(history)
            if users[position] < 0 and items.size == 0:
                if ignored:
                    raise UnusableHistoryError(ids[position], ignored)
                continue  # an empty history: the usual cold-start answer
            supplied[position] = items, ignored
        return supplied

    def _history_indices(self, history: Sequence[Any]) -> tuple[np.ndarray, list[str]]:
        """Known items of a supplied history as indices, and the unknown ids."""
        if isinstance(history, str | bytes):
            raise RequestError(
                f"history must be a list of item ids, got the string {history!r}"
            )
        ids = [str(i) for i in history]
        index = _lookup(self._item_lookup, ids)
        ignored = [i for i, j in zip(ids, index, strict=True) if j < 0]
        return index[index >= 0], ignored

    def _top_n_after_histories(
        self, users: np.ndarray, supplied: Sequence[np.ndarray], top_n: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Best items after each user's catalogued history plus the supplied items.

        Args:
            users: ``user_idx`` per row (``-1``: unknown, supplied history only).
            supplied: Known supplied item indices per row, oldest first.
            top_n: List length.

        Returns:
            ``(items, scores)`` as :meth:`top_n_indices` returns them; the
            catalogued and the supplied items are excluded.
        """
        histories = self.data.histories
        empty = np.zeros(0, dtype=np.int64)
        sequences = [
            np.concatenate(
                (histories.user_items(u) if u >= 0 else empty, extra)
            ).astype(np.int64)
            for u, extra in zip(users.tolist(), supplied, strict=True)
        ]
        scorer: HistoryScorer = self.scorer  # type: ignore[assignment]
        scores = np.asarray(scorer.score_history(sequences), dtype=np.float64)
        seen = self.data.seen[np.maximum(users, 0)]
        seen_rows = np.repeat(np.arange(users.size), np.diff(seen.indptr))
        keep = users[seen_rows] >= 0
        rows = np.concatenate(
            (
                seen_rows[keep],
                np.repeat(np.arange(users.size), [s.size for s in supplied]),
            )
        )
        cols = np.concatenate((seen.indices[keep], *supplied)).astype(np.int64)
        exclude = sp.csr_matrix(
            (np.ones(rows.size), (rows, cols)), shape=(users.size, self.data.n_items)
        )
        width = min(top_n, self.data.n_items)
        return top_k(
            _FixedScores(scores), np.arange(users.size, dtype=np.int64), exclude, width
        )

    def _result(
        self,
        user_id: str,
        ranked: tuple[np.ndarray, np.ndarray],
        cold_start: bool,
        *,
        ignored_items: tuple[str, ...] = (),
        history_used: int = 0,
    ) -> Recommendation:
        """Turn one row of item indices and scores into a :class:`Recommendation`."""
        items, scores = ranked
        keep = items >= 0
        item_ids = self.data.item_ids[items[keep]]
        entries = tuple(
            RecommendedItem(rank, str(item), float(score))
            for rank, item, score in zip(
                range(1, int(keep.sum()) + 1), item_ids, scores[keep], strict=True
            )
        )
        return Recommendation(
            user_id,
            cold_start,
            self.model_name,
            self.model_version,
            entries,
            ignored_items,
            history_used,
        )
