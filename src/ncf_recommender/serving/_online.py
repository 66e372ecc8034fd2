"""The :class:`Recommender`: a loaded model answering requests for original ids.

Maps original user and item ids to the model's indices, ranks unseen items
(exactly or by retrieval and re-ranking), reads supplied histories for sequence
models and falls back to popular items for unknown users.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from ncf_recommender.evaluation import Scorer, top_k
from ncf_recommender.models.new_items import NONE, embed_new_items
from ncf_recommender.serving._data import ServingData
from ncf_recommender.serving._errors import (
    HistoryNotSupportedError,
    NewItemError,
    RequestError,
    UnknownItemError,
    UnknownUserError,
    UnusableHistoryError,
)
from ncf_recommender.serving._items import (
    ITEM_METADATA_COMMAND,
    ITEM_METADATA_DATASET,
    AddedItems,
    CataloguedMetadata,
    NewItem,
    deepest_category,
    validate_new_item,
)
from ncf_recommender.serving._ranking import (
    Retrieval,
    _top_k_of_users,
    check_top_n,
    retrieve_and_rerank,
)
from ncf_recommender.serving._registry import _MODEL_TYPES, HistoryScorer, ModelType
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


def _merge_added(
    ranked: tuple[np.ndarray, np.ndarray],
    added_scores: np.ndarray,
    excluded: np.ndarray,
    n_items: int,
    top_n: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The best ``top_n`` of known items' top-N rows and the added products.

    A known item outside a row's top-N cannot enter the merged top-N, so
    merging the rows with every added product's score is exact.

    Args:
        ranked: ``(items, scores)`` of known items, ``(B, w)``, best first; item
            ``-1`` past a row's end.
        added_scores: ``(B, m)`` scores of the added products.
        excluded: ``(B, m)`` booleans: the product is excluded for that row.
        n_items: Known items; added product ``j`` is index ``n_items + j``.
        top_n: List length.

    Returns:
        ``(items, scores)`` of width ``min(top_n, n_items + m)``; ties keep the
        known items first; item ``-1`` past a row's end.
    """
    items, scores = ranked
    rows, m = added_scores.shape
    candidates = np.concatenate(
        (items, np.broadcast_to(n_items + np.arange(m), (rows, m))), axis=1
    )
    values = np.concatenate(
        (
            np.where(items >= 0, scores, -np.inf),
            np.where(excluded, -np.inf, added_scores),
        ),
        axis=1,
    ).astype(np.float64)
    order = np.argsort(-values, axis=1, kind="stable")[:, : min(top_n, n_items + m)]
    best = np.take_along_axis(values, order, axis=1)
    chosen = np.take_along_axis(candidates, order, axis=1)
    return np.where(np.isneginf(best), -1, chosen), best


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
        item_metadata: The catalogued ``item_metadata`` (``None``: none saved).
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
        item_metadata: CataloguedMetadata | None = None,
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
            item_metadata: The catalogued product metadata, indexed for
                ``data``'s items; ``None`` when the project has none.

        Raises:
            ValueError: If the scorer's catalogue size differs from the data's,
                or ``cold_start`` is unknown, or
                ``item_metadata`` is indexed for another catalogue.
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
        if item_metadata is not None and item_metadata.item_titles.size != data.n_items:
            raise ValueError(
                f"{ITEM_METADATA_DATASET} is indexed for {item_metadata.item_titles.size} "
                f"items but item_mapping has {data.n_items}"
            )
        self.item_metadata = item_metadata
        # Products added at serving time: a snapshot replaced as a whole (under
        # the lock), so each request reads one consistent set.
        self._added = AddedItems()
        self._added_lock = threading.Lock()
        self._item_space: Any = None
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
            "item_metadata_version": (
                self.item_metadata.version if self.item_metadata is not None else None
            ),
            "has_item_metadata": self.item_metadata is not None,
            "added_items": len(self._added),
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
        added = self._added  # one snapshot for the whole request
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
            if len(added):
                space = self._item_space
                added_scores = space.scores(
                    space.user_queries(users[by_user]), added.vectors
                )
                excluded = np.zeros(added_scores.shape, dtype=bool)
                items, scores = _merge_added(
                    (items, scores), added_scores, excluded, self.data.n_items, top_n
                )
            ranked.update(zip(by_user.tolist(), zip(items, scores, strict=True)))
        by_history = np.flatnonzero(with_history)
        if by_history.size:
            rows = [supplied[i] for i in by_history]
            items, scores = self._top_n_after_histories(
                users[by_history], [known_items for known_items, _ in rows], top_n
            )
            if len(added):
                # Added products a history names are not read but are excluded.
                named = [set(ignored) for _, ignored in rows]
                excluded = np.array(
                    [[i in ids_ for i in added.ids] for ids_ in named], dtype=bool
                ).reshape(len(rows), len(added))
                items, scores = _merge_added(
                    (items, scores),
                    self._added_history_scores(users[by_history], rows, added),
                    excluded,
                    self.data.n_items,
                    top_n,
                )
            ranked.update(zip(by_history.tolist(), zip(items, scores, strict=True)))
        popular = self._popular_with(added, top_n)
        no_history: tuple[np.ndarray, list[str]] = (np.zeros(0, np.int64), [])
        results = []
        for position, uid in enumerate(ids):
            used, ignored = supplied.get(position, no_history)
            results.append(
                self._result(
                    uid,
                    ranked.get(position, popular),
                    not known[position],
                    added,
                    ignored_items=tuple(ignored),
                    history_used=int(used.size),
                )
            )
        return results

    def _popular_with(
        self, added: AddedItems, top_n: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """The cold-start list: popular items, then added products (no users: 0)."""
        items, scores = self._popular[:top_n], self._popular_scores[:top_n]
        room = top_n - items.size
        if len(added) and room > 0:
            extra = self.data.n_items + np.arange(min(room, len(added)))
            items = np.concatenate((items, extra))
            scores = np.concatenate((scores, np.zeros(extra.size)))
        return items, scores

    def _added_history_scores(
        self,
        users: np.ndarray,
        rows: Sequence[tuple[np.ndarray, list[str]]],
        added: AddedItems,
    ) -> np.ndarray:
        """``(B, m)`` scores of the added products after each row's history."""
        space = self._item_space
        sequences = self._history_sequences(users, [known for known, _ in rows])
        return space.scores(space.history_queries(sequences), added.vectors)

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

    def _history_sequences(
        self, users: np.ndarray, supplied: Sequence[np.ndarray]
    ) -> list[np.ndarray]:
        """Each row's catalogued history (none for ``-1``) then its supplied items."""
        histories = self.data.histories
        empty = np.zeros(0, dtype=np.int64)
        return [
            np.concatenate(
                (histories.user_items(u) if u >= 0 else empty, extra)
            ).astype(np.int64)
            for u, extra in zip(users.tolist(), supplied, strict=True)
        ]

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
        sequences = self._history_sequences(users, supplied)
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
        added: AddedItems,
        *,
        ignored_items: tuple[str, ...] = (),
        history_used: int = 0,
    ) -> Recommendation:
        """Turn one row of item indices and scores into a :class:`Recommendation`.

        Indices from ``n_items`` on are added products (``n_items + j``); each
        entry carries the item's title and deepest category when known.
        """
        items, scores = ranked
        keep = items >= 0
        n_items = self.data.n_items
        metadata = self.item_metadata
        entries = []
        for rank, index, score in zip(
            range(1, int(keep.sum()) + 1),
            items[keep].tolist(),
            scores[keep],
            strict=True,
        ):
            if index < n_items:
                item_id = str(self.data.item_ids[index])
                title = metadata.item_titles[index] if metadata is not None else None
                category = (
                    metadata.item_categories[index] if metadata is not None else None
                )
            else:
                new = added.items[index - n_items]
                item_id, title = new.item_id, new.title
                category = deepest_category(new.categories)
            entries.append(
                RecommendedItem(rank, item_id, float(score), title, category)
            )
        return Recommendation(
            user_id,
            cold_start,
            self.model_name,
            self.model_version,
            tuple(entries),
            ignored_items,
            history_used,
        )

    # Item metadata and products added at serving time.

    @property
    def added_items(self) -> tuple[str, ...]:
        """Ids of the products added to this loaded model, in the order added."""
        return self._added.ids

    def item(self, item_id: Any) -> dict[str, Any]:
        """An item's metadata: an added product's, else the catalogued one.

        Args:
            item_id: Original item id.

        Returns:
            ``{"item_id", "title", "categories", "brand", "price", "category",
            "source", "recommendable"}``; ``source`` is ``added`` or
            ``item_metadata``; ``recommendable`` says whether the served model
            can recommend it (it is in ``item_mapping`` or was added).

        Raises:
            RequestError: If the id is not a non-empty string.
            UnknownItemError: If neither source has it (the message says
                whether ``item_metadata`` is catalogued at all).
        """
        if not isinstance(item_id, str) or not item_id:
            raise RequestError(f"item_id must be a non-empty string, got {item_id!r}")
        added = self._added
        position = added.position(item_id)
        if position >= 0:
            return {**added.record(position), "source": "added", "recommendable": True}
        record = (
            self.item_metadata.record(item_id)
            if self.item_metadata is not None
            else None
        )
        if record is None:
            if self.item_metadata is None:
                reason = (
                    f"no {ITEM_METADATA_DATASET} is catalogued (build it with "
                    f"'{ITEM_METADATA_COMMAND}') and no product with this id was added"
                )
            else:
                reason = (
                    f"not in {ITEM_METADATA_DATASET} (version "
                    f"{self.item_metadata.version}) nor among the added products"
                )
            raise UnknownItemError(item_id, reason)
        return {
            **record,
            "source": "item_metadata",
            "recommendable": item_id in self._item_lookup,
        }

    def supports_new_items(self) -> bool:
        """Whether the served model type can score products added at serving time."""
        return self.model_type.item_space_factory is not None

    def _space(self) -> Any:
        """The model's item space, built on first use (call under the lock).

        Raises:
            NewItemError: If the model type has none or the model does not fit it.
        """
        if self._item_space is not None:
            return self._item_space
        supported = sorted(
            n for n, t in _MODEL_TYPES.items() if t.item_space_factory is not None
        )
        factory = self.model_type.item_space_factory
        if factory is None:
            raise NewItemError(
                f"model {self.model_name!r} cannot score products added at serving "
                "time: it runs a network on every (user, item) pair, so no item "
                f"vector alone gives a score; serve one of {supported}"
            )
        from ncf_recommender.serving._item_space import check_space  # noqa: PLC0415

        try:
            space = factory(self.scorer)
            check_space(space, self.scorer, self.data.n_users, self.model_name)
        except ValueError as error:
            raise NewItemError(
                f"cannot add products to the served {self.model_name} model: {error}"
            ) from error
        self._item_space = space
        return space

    def add_item(self, metadata: Mapping[str, Any] | NewItem) -> dict[str, Any]:
        """Add a product at serving time: recommendable from the next request on.

        Its vector in the model's item space is the mean of the vectors of its
        ``related`` items that the model knows, else of the known items of its
        deepest category (from ``item_metadata``), rescaled to their mean norm
        (:func:`~ncf_recommender.models.new_items.embed_new_items`). No user has
        interacted with it, so it is excluded from no one's list. It lives in
        this object's memory only: a restart forgets it.

        Args:
            metadata: ``item_id``, ``title``, ``categories``, ``brand``,
                ``price`` and ``related`` (see :class:`NewItem`).

        Returns:
            The product as :meth:`item` gives it, plus ``embedded_from``
            (``related`` or ``category``) and ``neighbours`` (known items averaged).

        Raises:
            RequestError: If the metadata is malformed (the message names the field).
            NewItemError: If the model type cannot score new products, the id is
                already served or added, or no known related item and no known
                item of its category exists.
        """
        item = validate_new_item(metadata)
        with self._added_lock:
            added = self._added
            if item.item_id in self._item_lookup:
                raise NewItemError(
                    f"item_id {item.item_id!r} is already in item_mapping: the model "
                    "was trained on it"
                )
            if added.position(item.item_id) >= 0:
                raise NewItemError(f"item_id {item.item_id!r} was already added")
            space = self._space()
            related = _lookup(self._item_lookup, list(item.related))
            category = deepest_category(item.categories)
            same = np.zeros(0, dtype=np.int64)
            if category is not None and self.item_metadata is not None:
                same = self.item_metadata.category_items.get(category, same)
            vectors = embed_new_items(
                space.item_vectors, [related[related >= 0]], [same]
            )
            basis = str(vectors.basis[0])
            if basis == NONE:
                if self.item_metadata is None:
                    where = (
                        f"no {ITEM_METADATA_DATASET} is catalogued to find its "
                        f"category in (build it with '{ITEM_METADATA_COMMAND}')"
                    )
                elif category is None:
                    where = "it has no category"
                else:
                    where = f"no item the model knows has the category {category!r}"
                raise NewItemError(
                    f"product {item.item_id!r} needs a related item the model knows "
                    f"or a known category to get a vector: none of its {len(item.related)} "
                    f"related item(s) is in item_mapping and {where}"
                )
            self._added = added.plus(
                item, vectors.vectors[0], basis, int(vectors.neighbours[0])
            )
        return {
            **self.item(item.item_id),
            "embedded_from": basis,
            "neighbours": int(vectors.neighbours[0]),
        }
