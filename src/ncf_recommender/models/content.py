"""Content-aware item representations: an item is its id embedding plus its metadata.

:class:`ContentItemEmbedding` is a drop-in replacement for
:class:`~ncf_recommender.models.layers.TiedItemEmbedding` (same name, same calls:
look ids up, or score hidden states against every item), whose row for item
``i`` is

    ``warm[i] * keep[i] * id_embedding[i]  +  sum_f weight[i, f] * scale[kind(f)] * feature_vector[f]``

- the **content tower**: one vector per metadata feature (category levels,
  brand, price bucket, title tokens: see the ``item_metadata`` pipeline), with
  a learned scale per feature kind. A **related-item feature**
  (``related=<id>``) of a modelled item is that item's own id embedding,
  not a vector of its own: an item's content holds the ids of the items its
  metadata links it to, so a product with no interactions sits among its
  related products from the first step, and the tower cannot memorise an item
  through a link that only it carries. :func:`item_content` builds the
  features (the mean of each kind, features of fewer than
  ``min_feature_items`` items left out: such a token is a second id);
- **id-embedding dropout** (the DropoutNet idea): while training, each item's id
  part is dropped with probability ``id_dropout`` at every step, so the model
  learns to score items from their content alone as well;
- **cold items** (``warm[i] = 0``: no training interaction) never use their id
  embedding, which was never trained: they are scored from content only. While
  training they do not exist (their rows are zero: a sampled cold negative is a
  constant logit that passes no gradient), as a product added later did not.

**New items' scores.** A content-only row is a weaker, differently scaled
signal than a trained id, so a cold item's score is recalibrated per user
(:meth:`ContentItemEmbedding.rescore_new_items`): ``mu + sigma * (a * z_model +
b * z_knn - c)``, where ``mu`` and ``sigma`` are the mean and spread of the
user's scores of warm items, ``z_model`` is the cold row's standardised score
and ``z_knn`` the standardised content k-NN similarity of the item to the
user's history. :func:`calibrate_new_items` chooses ``(a, b, c)`` on
validation (with ``a = 0``: see :data:`CALIBRATION_GRID`): in a few seeded
draws, a share of warm items plays new, and it keeps the setting that ranks
those pseudo-new validation items best, on average over the draws, while the
other validation users keep at least ``1 - warm_tolerance`` of their NDCG@10.

The feature lists are stored in the layer as non-trainable weights (flat
``(row, feature, weight)`` triples for the whole table, the same padded per
item for look-ups, and the k-NN vectors), so a saved ``.keras`` model carries
them, with the chosen ``(a, b, c)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import keras
import numpy as np
import pandas as pd
import scipy.sparse as sp
from keras import ops
from sklearn.preprocessing import normalize

from ncf_recommender.constants import ITEM_IDX
from ncf_recommender.models.layers import (
    ITEM_EMBEDDING,
    SERIALIZATION_PACKAGE,
    TiedItemEmbedding,
)

#: Known items a new item's k-NN similarity is standardised against, at most
#: (a seeded sample of them in a larger catalogue).
KNN_REFERENCE_ITEMS = 20_000
_KNN_REFERENCE_STREAM = 0x4E4E
#: Kind of a related-item feature in ``item_feature_vocabulary``.
RELATED_KIND = "related"
#: ``(a, b, c)`` of a layer whose new items are not recalibrated (content row as is).
UNCALIBRATED = (1.0, 0.0, 0.0)


class ItemContent(NamedTuple):
    """What a content-aware item table reads (see :func:`item_content`).

    Attributes:
        features: ``(n_items, n_features)`` tower weights (mean per kind).
        feature_items: ``(n_features,)`` ``item_idx + 1`` of a related-item
            feature's item, 0 for every other feature.
        feature_kinds: ``(n_features,)`` code of each feature's kind.
        kinds: The kind names, by code.
        knn: ``(n_items, n_features)`` unit-norm rows of every feature, an
            item's own ``related=<id>`` included: the content k-NN's vectors.
    """

    features: sp.csr_matrix
    feature_items: np.ndarray
    feature_kinds: np.ndarray
    kinds: tuple[str, ...]
    knn: sp.csr_matrix


def item_content(
    item_features: pd.DataFrame,
    vocabulary: pd.DataFrame,
    n_items: int,
    min_feature_items: int = 10,
) -> ItemContent:
    """The content of the modelled items, from the ``item_metadata`` pipeline.

    Args:
        item_features: Long rows ``item_id``, ``item_idx`` (null for products
            without interactions), ``feature_idx``, ``weight``.
        vocabulary: ``feature_idx``, ``feature``, ``kind``, ``items``.
        n_items: Catalogue size.
        min_feature_items: A feature other than a related item that fewer
            items carry is left out of the tower.

    Returns:
        The :class:`ItemContent`.

    Raises:
        ValueError: If a feature index is outside the vocabulary.
    """
    from ncf_recommender.models.content_baselines import (  # noqa: PLC0415
        feature_matrix,
        own_id_rows,
    )

    vocabulary = vocabulary.sort_values("feature_idx").reset_index(drop=True)
    n_features = len(vocabulary)
    if not np.array_equal(vocabulary["feature_idx"].to_numpy(), np.arange(n_features)):
        raise ValueError(
            "item_feature_vocabulary must number its features 0..n-1 without gaps"
        )
    kinds, kind_codes = np.unique(
        vocabulary["kind"].to_numpy(dtype=str), return_inverse=True
    )
    modelled = item_features[item_features[ITEM_IDX].notna()]
    columns = modelled["feature_idx"].to_numpy(dtype=np.int64)
    if columns.size and (columns.min() < 0 or columns.max() >= n_features):
        raise ValueError(
            f"item_features.feature_idx holds {columns.min()}..{columns.max()}, "
            f"outside the vocabulary's {n_features} features"
        )
    own = own_id_rows(modelled, vocabulary)
    feature_items = np.zeros(n_features, dtype=np.int64)
    feature_items[columns[own]] = modelled[ITEM_IDX].to_numpy(dtype=np.int64)[own] + 1
    related = kinds[kind_codes] == RELATED_KIND
    rare = ~related & (vocabulary["items"].to_numpy() < min_feature_items)
    keep = ~own & ~rare[columns]
    rows = modelled[ITEM_IDX].to_numpy(dtype=np.int64)[keep]
    columns, weights = columns[keep], modelled["weight"].to_numpy(np.float64)[keep]
    group = rows * len(kinds) + kind_codes[columns]
    weights = weights / np.bincount(group, minlength=1)[group]  # mean per kind
    tower = sp.csr_matrix(
        (weights.astype(np.float32), (rows, columns)), shape=(n_items, n_features)
    )
    tower.sum_duplicates()
    return ItemContent(
        features=tower,
        feature_items=feature_items,
        feature_kinds=kind_codes.astype(np.int64),
        kinds=tuple(str(k) for k in kinds),
        knn=feature_matrix(item_features, n_items, n_features),
    )


def _pairs(layer: keras.layers.Layer, prefix: str, nnz: int) -> tuple[Any, Any, Any]:
    """Three non-trainable weights holding ``nnz`` sparse ``(row, column, value)`` triples."""
    rows, cols = (
        layer.add_weight(
            shape=(nnz,),
            initializer="zeros",
            dtype="int32",
            trainable=False,
            name=f"{prefix}_{name}",
        )  # fmt: skip
        for name in ("rows", "features")
    )
    values = layer.add_weight(
        shape=(nnz,), initializer="zeros", trainable=False, name=f"{prefix}_weights"
    )
    return rows, cols, values


@keras.saving.register_keras_serializable(package=SERIALIZATION_PACKAGE)
class ContentItemEmbedding(TiedItemEmbedding):
    """Tied item table of id embeddings plus a content tower (see the module docstring).

    Row 0 is the padding id; row ``i + 1`` is item ``i``.

    Args:
        n_items: Catalogue size.
        dim: Embedding size.
        n_features: Metadata vocabulary size.
        nnz: Number of stored (item, feature) pairs of the tower.
        n_kinds: Number of feature kinds (one learned scale each).
        knn_nnz: Number of stored (item, feature) pairs of the k-NN vectors
            (0: new items are scored from their content row alone).
        row_width: Most features of one item (the width of the per-item
            feature lists that a look-up reads).
        id_dropout: Probability of dropping an item's id part while training.
        embeddings_regularizer: Optional regulariser of both tables.
        seed: Seed of the id-dropout draws.
        **kwargs: Base ``Layer`` arguments.
    """

    def __init__(  # noqa: PLR0913 (the layer's serialised configuration)
        self,
        n_items: int,
        dim: int,
        *,
        n_features: int,
        nnz: int,
        n_kinds: int = 1,
        knn_nnz: int = 0,
        row_width: int = 1,
        id_dropout: float = 0.5,
        embeddings_regularizer: Any = None,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        if not 0.0 <= id_dropout < 1.0:
            raise ValueError(f"id_dropout must lie in [0, 1), got {id_dropout}")
        super().__init__(
            n_items, dim, embeddings_regularizer=embeddings_regularizer, **kwargs
        )
        self.n_features, self.nnz = int(n_features), int(nnz)
        self.n_kinds, self.knn_nnz = max(int(n_kinds), 1), int(knn_nnz)
        self.row_width = max(int(row_width), 1)
        self.id_dropout = float(id_dropout)
        self.seed = seed
        self._seeds = keras.random.SeedGenerator(seed)
        width = max(self.n_features, 1)
        self.feature_embeddings = self.add_weight(
            shape=(width, self.dim),
            initializer=keras.initializers.RandomNormal(stddev=0.01),
            regularizer=self.embeddings_regularizer,
            name="feature_embeddings",
        )
        self.kind_scale = self.add_weight(
            shape=(self.n_kinds,), initializer="ones", name="kind_scale"
        )
        self.pair_rows, self.pair_features, self.pair_weights = _pairs(
            self, "pair", self.nnz
        )
        self.knn_rows, self.knn_features, self.knn_weights = _pairs(
            self, "knn", self.knn_nnz
        )
        # The same pairs per item, padded to row_width (weight 0): a look-up of a
        # batch of ids reads its rows only, not the whole table.
        self.row_features = self.add_weight(
            shape=(self.n_items + 1, self.row_width), initializer="zeros",
            dtype="int32", trainable=False, name="row_features",
        )  # fmt: skip
        self.row_weights = self.add_weight(
            shape=(self.n_items + 1, self.row_width), initializer="zeros",
            trainable=False, name="row_weights",
        )  # fmt: skip
        self.feature_items = self.add_weight(
            shape=(width,), initializer="zeros", dtype="int32", trainable=False,
            name="feature_items",
        )  # fmt: skip
        self.feature_kinds = self.add_weight(
            shape=(width,), initializer="zeros", dtype="int32", trainable=False,
            name="feature_kinds",
        )  # fmt: skip
        self.warm = self.add_weight(
            shape=(self.n_items + 1,), initializer="ones", trainable=False, name="warm"
        )
        self.new_item_weights = self.add_weight(
            shape=(3,),
            initializer=keras.initializers.Constant(UNCALIBRATED),
            trainable=False,
            name="new_item_weights",
        )
        self._knn_cache: sp.csr_matrix | None = None

    def set_content(
        self,
        features: sp.spmatrix,
        warm: np.ndarray,
        *,
        feature_items: np.ndarray | None = None,
        feature_kinds: np.ndarray | None = None,
        knn: sp.spmatrix | None = None,
    ) -> None:
        """Store each item's features and whether it has training interactions.

        Args:
            features: ``(n_items, n_features)`` tower weights (row ``i`` is
                item ``i``); exactly ``nnz`` stored entries.
            warm: ``(n_items,)`` booleans: the item has training interactions.
            feature_items: Per feature, ``item_idx + 1`` of the item a
                related-item feature stands for (0: a feature of its own).
            feature_kinds: Per feature, its kind code (below ``n_kinds``).
            knn: ``(n_items, n_features)`` k-NN vectors with ``knn_nnz`` entries.

        Raises:
            ValueError: On shapes that do not match the layer.
        """
        coo = sp.coo_matrix(features)
        if coo.shape != (self.n_items, self.n_features) or coo.nnz != self.nnz:
            raise ValueError(
                f"features of shape {coo.shape} with {coo.nnz} entries do not fit a "
                f"layer of {self.n_items} items, {self.n_features} features and "
                f"{self.nnz} entries"
            )
        self.set_warm(warm)
        self.pair_rows.assign(coo.row.astype(np.int32) + 1)
        self.pair_features.assign(coo.col.astype(np.int32))
        self.pair_weights.assign(coo.data.astype(np.float32))
        csr = sp.csr_matrix(features)
        lengths = np.diff(csr.indptr)
        if lengths.max(initial=0) > self.row_width:
            raise ValueError(
                f"an item has {lengths.max()} features, more than row_width="
                f"{self.row_width}"
            )
        slots = np.arange(csr.nnz) - np.repeat(csr.indptr[:-1], lengths)
        row_features = np.zeros((self.n_items + 1, self.row_width), np.int32)
        row_weights = np.zeros((self.n_items + 1, self.row_width), np.float32)
        row_features[coo.row + 1, slots] = csr.indices
        row_weights[coo.row + 1, slots] = csr.data
        self.row_features.assign(row_features)
        self.row_weights.assign(row_weights)
        for weight, given, upper in (
            (self.feature_items, feature_items, self.n_items + 1),
            (self.feature_kinds, feature_kinds, self.n_kinds),
        ):
            values = (
                np.zeros(self.n_features, np.int64)
                if given is None
                else np.asarray(given)
            )
            if (
                values.shape != (self.n_features,)
                or values.min(initial=0) < 0
                or values.max(initial=0) >= upper
            ):
                raise ValueError(
                    f"{weight.name} must hold {self.n_features} values in [0, {upper})"
                )
            stored = np.zeros(weight.shape, np.int32)  # one row even without features
            stored[: self.n_features] = values
            weight.assign(stored)
        if knn is not None:
            knn = sp.coo_matrix(knn)
            if knn.shape != coo.shape or knn.nnz != self.knn_nnz:
                raise ValueError(
                    f"knn of shape {knn.shape} with {knn.nnz} entries does not fit "
                    f"{coo.shape} and knn_nnz={self.knn_nnz}"
                )
            self.knn_rows.assign(knn.row.astype(np.int32))
            self.knn_features.assign(knn.col.astype(np.int32))
            self.knn_weights.assign(knn.data.astype(np.float32))
        self._knn_cache = None

    def set_warm(self, warm: np.ndarray) -> None:
        """Mark which items have training interactions (the others are scored as new).

        Raises:
            ValueError: If ``warm`` does not hold one flag per item.
        """
        warm = np.asarray(warm, dtype=bool)
        if warm.shape != (self.n_items,):
            raise ValueError(
                f"warm must have shape ({self.n_items},), got {warm.shape}"
            )
        self.warm.assign(np.r_[0.0, warm.astype(np.float32)])

    def _feature_vectors(self) -> Any:
        """``(n_features, dim)``: a linked item's id embedding, else the feature's own
        vector, times its kind's scale."""
        linked = ops.take(self.embeddings, self.feature_items, axis=0)
        return (
            ops.where(
                (self.feature_items > 0)[:, None], linked, self.feature_embeddings
            )
            * ops.take(self.kind_scale, self.feature_kinds)[:, None]
        )

    def _keep(self, training: bool) -> Any:
        """Per row, whether its id part counts: warm, and not dropped while training."""
        keep = self.warm
        if training and self.id_dropout > 0.0:
            draws = keras.random.uniform((self.n_items + 1,), seed=self._seeds)
            keep = keep * ops.cast(draws >= self.id_dropout, keep.dtype)
        return keep

    def table(self, training: bool = False) -> Any:
        """The ``(n_items + 1, dim)`` item table (row 0: padding, all zeros)."""
        content = ops.segment_sum(
            ops.take(self._feature_vectors(), self.pair_features, axis=0)
            * self.pair_weights[:, None],
            self.pair_rows,
            num_segments=self.n_items + 1,
        )
        table = self.embeddings * self._keep(training)[:, None] + content
        # A cold item (no training interaction) would only ever be a negative:
        # the model would learn to avoid its content. While training it does not
        # exist: its row is zero, a constant logit that passes no gradient.
        return table * self.warm[:, None] if training else table

    def rows(self, ids: Any, training: bool = False) -> Any:
        """The table's rows of ``ids`` (any shape), computed for those ids only."""
        ids = ops.cast(ids, "int32")
        features = ops.take(self.row_features, ids, axis=0)
        weights = ops.take(self.row_weights, ids, axis=0)
        content = ops.sum(
            ops.take(self._feature_vectors(), features, axis=0) * weights[..., None],
            axis=-2,
        )
        keep = ops.take(self._keep(training), ids, axis=0)
        out = ops.take(self.embeddings, ids, axis=0) * keep[..., None] + content
        if training:
            out = out * ops.take(self.warm, ids, axis=0)[..., None]
        return out

    def call(self, inputs: Any, reverse: bool = False, training: bool = False) -> Any:
        """Look ids up, or score hidden states against every item.

        Args:
            inputs: Int ids, or float hidden states ``(..., dim)`` when
                ``reverse`` is true.
            reverse: Score instead of embed.
            training: Whether id dropout applies.

        Returns:
            ``inputs.shape + (dim,)`` embeddings or ``(..., n_items)`` scores.
        """
        if reverse:
            items = ops.cast(self.table(training=bool(training))[1:], inputs.dtype)
            return ops.matmul(inputs, ops.transpose(items))
        return self.rows(inputs, training=bool(training))

    def _knn_vectors(self) -> sp.csr_matrix:
        if self._knn_cache is None:
            self._knn_cache = sp.csr_matrix(
                (
                    np.asarray(self.knn_weights),
                    (np.asarray(self.knn_rows), np.asarray(self.knn_features)),
                ),
                shape=(self.n_items, max(self.n_features, 1)),
            )
        return self._knn_cache

    def knn_similarity(
        self, padded: np.ndarray, items: np.ndarray | None = None
    ) -> np.ndarray:
        """Content k-NN: cosine of items' vectors to each history's mean vector.

        Args:
            padded: ``(B, max_len)`` histories (ids ``item_idx + 1``, 0 pads).
            items: The items to score (``None``: every item).

        Returns:
            ``(B, len(items))`` float32 similarities (zeros without k-NN vectors).
        """
        padded = np.asarray(padded)
        width = self.n_items if items is None else len(items)
        if not self.knn_nnz:
            return np.zeros((padded.shape[0], width), dtype=np.float32)
        rows, cols = np.nonzero(padded)
        history = sp.csr_matrix(
            (np.ones(rows.size, np.float32), (rows, padded[rows, cols] - 1)),
            shape=(padded.shape[0], self.n_items),
        )
        vectors = self._knn_vectors()
        # dense profiles: sparse items x dense profiles is dense anyway
        profiles = normalize(history @ vectors, norm="l2", axis=1).toarray()
        chosen = vectors if items is None else vectors[np.asarray(items)]
        return np.ascontiguousarray((chosen @ profiles.T).T, dtype=np.float32)

    def standard_knn(
        self, padded: np.ndarray, cold: np.ndarray | None = None
    ) -> np.ndarray:
        """The cold items' k-NN similarity, standardised per row against known items.

        The mean and spread come from the known items' similarities: all of them
        up to :data:`KNN_REFERENCE_ITEMS`, a fixed seeded sample above that (the
        similarity of every item to every user would cost users x catalogue).

        Args:
            padded: ``(B, max_len)`` histories.
            cold: ``(n_items,)`` flags of the items scored as new (``None``: the
                layer's, those without training interactions).

        Returns:
            ``(B, n_cold)`` float32, the cold items in index order.
        """
        if cold is None:
            cold = np.asarray(self.warm)[1:] == 0
        known = np.flatnonzero(~cold)
        if known.size > KNN_REFERENCE_ITEMS:
            rng = np.random.default_rng(_KNN_REFERENCE_STREAM)
            known = np.sort(rng.choice(known, size=KNN_REFERENCE_ITEMS, replace=False))
        similarity = self.knn_similarity(padded, np.r_[np.flatnonzero(cold), known])
        new, reference = similarity[:, : cold.sum()], similarity[:, cold.sum() :]
        return (new - reference.mean(axis=1, keepdims=True)) / (
            reference.std(axis=1, keepdims=True) + 1e-9
        )

    def rescore_new_items(
        self,
        scores: np.ndarray,
        padded: np.ndarray,
        weights: Sequence[float] | None = None,
    ) -> np.ndarray:
        """Recalibrate the cold items' scores (see the module docstring).

        Args:
            scores: ``(B, n_items)`` the model's scores after ``padded``.
            padded: The ``(B, max_len)`` histories they were computed from.
            weights: ``(a, b, c)``; ``None``: the layer's ``new_item_weights``.

        Returns:
            ``scores`` with the cold items' columns replaced (a copy), or
            ``scores`` itself when nothing changes.
        """
        a, b, c = np.asarray(self.new_item_weights) if weights is None else weights
        cold = np.asarray(self.warm)[1:] == 0
        if not cold.any() or cold.all() or (a, b, c) == UNCALIBRATED:
            return scores
        warm = ~cold
        known = scores[:, warm]
        mu = known.mean(axis=1, keepdims=True)
        sigma = known.std(axis=1, keepdims=True) + 1e-9
        z = a * (scores[:, cold] - mu) / sigma
        if b:
            z = z + b * self.standard_knn(padded)
        out = np.array(scores, dtype=np.float32, copy=True)
        out[:, cold] = mu + sigma * (z - c)
        return out

    def get_config(self) -> dict[str, Any]:
        """Serialisable constructor arguments."""
        config = super().get_config()
        config.pop("embeddings_initializer", None)
        config.update(
            n_features=self.n_features,
            nnz=self.nnz,
            n_kinds=self.n_kinds,
            knn_nnz=self.knn_nnz,
            row_width=self.row_width,
            id_dropout=self.id_dropout,
            seed=self.seed,
        )
        return config


def build_content_sasrec(
    content: ItemContent | sp.spmatrix,
    warm: np.ndarray,
    *,
    max_len: int = 50,
    dim: int = 64,
    heads: int = 2,
    blocks: int = 2,
    dropout: float = 0.1,
    id_dropout: float = 0.5,
    ffn_dim: int | None = None,
    l2: float = 0.0,
    name: str = "content_sasrec",
) -> keras.Model:
    """SASRec whose item table is a :class:`ContentItemEmbedding`.

    Args:
        content: The items' :class:`ItemContent`, or a bare ``(n_items,
            n_features)`` tower matrix (no linked items, one kind, no k-NN).
        warm: ``(n_items,)`` whether each item has training interactions.
        max_len: Items of history read.
        dim: Embedding and hidden size.
        heads: Attention heads.
        blocks: Self-attention blocks.
        dropout: Dropout of the transformer.
        id_dropout: Probability of dropping an item's id part while training.
        ffn_dim: Feed-forward size (``dim`` if ``None``).
        l2: L2 penalty on the item and feature tables.
        name: Model name.

    Returns:
        The model (see :func:`~ncf_recommender.models.sasrec.build_sasrec`).
    """
    from ncf_recommender.models.sasrec import build_sasrec  # noqa: PLC0415

    if not isinstance(content, ItemContent):
        features = sp.csr_matrix(content)
        content = ItemContent(
            features,
            np.zeros(features.shape[1], np.int64),
            np.zeros(features.shape[1], np.int64),
            ("feature",),
            None,
        )
    features = sp.csr_matrix(content.features)
    n_items, n_features = features.shape
    items = ContentItemEmbedding(
        n_items,
        dim,
        n_features=n_features,
        nnz=features.nnz,
        n_kinds=len(content.kinds),
        knn_nnz=0 if content.knn is None else content.knn.nnz,
        row_width=int(np.diff(features.indptr).max(initial=1)),
        id_dropout=id_dropout,
        embeddings_regularizer=keras.regularizers.L2(l2) if l2 else None,
        name=ITEM_EMBEDDING,
    )
    items.set_content(
        features,
        warm,
        feature_items=content.feature_items,
        feature_kinds=content.feature_kinds,
        knn=content.knn,
    )
    return build_sasrec(
        n_items,
        max_len,
        dim,
        heads,
        blocks,
        dropout=dropout,
        ffn_dim=ffn_dim,
        l2=l2,
        name=name,
        items=items,
    )


#: Validation users :func:`calibrate_on_validation` ranks at most (about 2,000 of
#: them have a pseudo-new item in each draw; the model scores each user once, and
#: each draw compares the grid's 132 settings on the new items' columns).
CALIBRATION_USERS = 20_000
#: Stream of the pseudo-new draws (kept apart from the other seeded draws).
_PSEUDO_NEW_STREAM = 0x9E3
#: The ``(a, b, c)`` that :func:`calibrate_new_items` tries: content k-NN
#: weights ``b`` and offsets ``c``, with ``a = 0``. The cold row's own score is
#: left out: a warm item played as new keeps a content row that training has
#: fitted to its interactions (its related items' ids learnt them), so on
#: validation it looks far better than a truly new item's (default data, seed
#: 0: NDCG@10 0.081 for pseudo-new items against 0.003 for new ones), and a
#: setting chosen on it would not carry over. The k-NN similarity reads
#: metadata only, the same for both.
CALIBRATION_GRID: tuple[tuple[float, float, float], ...] = tuple(
    (0.0, b, c)
    for b in (0.5, 1.0, 2.0, 3.0)
    for c in np.arange(0.0, 8.0 + 1e-9, 0.25).tolist()
)
#: Pseudo-new draws :func:`calibrate_new_items` averages.
CALIBRATION_DRAWS = 3


def _ndcg_at_10(
    scores: np.ndarray, targets: np.ndarray, excluded: sp.csr_matrix
) -> np.ndarray:
    """Per-row expected NDCG@10 of ``targets`` among the non-excluded items."""
    from ncf_recommender.evaluation.metrics import expected_ndcg  # noqa: PLC0415

    rows = np.array(scores, dtype=np.float64, copy=True)
    r, c = excluded.nonzero()
    rows[r, c] = -np.inf
    target = rows[np.arange(rows.shape[0]), targets][:, None]
    g = (rows > target).sum(axis=1)
    t = (rows == target).sum(axis=1) - 1
    return expected_ndcg(g, t, 10)


def grid_ndcg(  # noqa: PLR0914 (one vectorised pass per setting)
    layer: ContentItemEmbedding,
    scores: np.ndarray,
    padded: np.ndarray,
    targets: np.ndarray,
    excluded: sp.csr_matrix,
    *,
    grid: Sequence[tuple[float, float, float]] = CALIBRATION_GRID,
    cold: np.ndarray | None = None,
) -> np.ndarray:
    """NDCG@10 of each row's target under each setting of ``grid``.

    The same ranks as :func:`_ndcg_at_10` of
    :meth:`ContentItemEmbedding.rescore_new_items` for every setting, without
    re-ranking whole rows: only the new items' scores change between
    settings, so the known items are compared once and each setting compares
    the new items (and, for a row whose target is new, the known items again).

    Args:
        layer: The item table (its k-NN vectors).
        scores: ``(B, n_items)`` the model's scores after ``padded``.
        padded: The ``(B, max_len)`` histories.
        targets: ``(B,)`` items to rank.
        excluded: ``(B, n_items)`` items left out of each row.
        grid: ``(a, b, c)`` settings, each with ``a = 0``.
        cold: ``(n_items,)`` flags of the items scored as new (``None``: the
            layer's ``warm`` flags say).

    Returns:
        ``(len(grid), B)`` float64 per-row NDCG@10.

    Raises:
        ValueError: If a setting uses the cold row's own score (``a != 0``).
    """
    from ncf_recommender.evaluation.metrics import expected_ndcg  # noqa: PLC0415

    if any(a for a, _, _ in grid):
        raise ValueError("grid_ndcg ranks settings with a = 0 only")
    if cold is None:
        cold = np.asarray(layer.warm)[1:] == 0
    warm_scores = scores[:, ~cold]
    mu = warm_scores.mean(axis=1, keepdims=True)
    sigma = warm_scores.std(axis=1, keepdims=True) + 1e-9
    z = layer.standard_knn(padded, cold)
    dropped = sp.csr_matrix(excluded).toarray().astype(bool)
    known = np.where(dropped[:, ~cold], -np.inf, warm_scores.astype(np.float64))
    new_dropped = dropped[:, cold]
    new_target = cold[targets]
    position = np.cumsum(cold) - 1  # column of a new item among the new ones
    old, new = np.flatnonzero(~new_target), np.flatnonzero(new_target)
    target_scores = scores[old, targets[old]].astype(np.float64)[:, None]
    known_above = (known[old] > target_scores).sum(axis=1)
    known_tied = (known[old] == target_scores).sum(axis=1) - 1
    # each setting reads the same rows: cut them out once
    z_old, z_new = z[old], z[new]
    mu_old, mu_new, sigma_old, sigma_new = mu[old], mu[new], sigma[old], sigma[new]
    dropped_old, dropped_new = new_dropped[old], new_dropped[new]
    known_new = known[new]
    own_column = position[targets[new]]
    out = np.zeros((len(grid), targets.size))
    g = np.empty(targets.size)
    t = np.empty(targets.size)
    for k, (_, b, c) in enumerate(grid):
        # float32 as rescore_new_items computes them, so the ranks are the same
        scored = mu_old + sigma_old * (b * z_old - c)
        scored[dropped_old] = -np.inf
        g[old] = known_above + (scored > target_scores).sum(axis=1)
        t[old] = known_tied + (scored == target_scores).sum(axis=1)
        scored = mu_new + sigma_new * (b * z_new - c)
        scored[dropped_new] = -np.inf
        own = scored[np.arange(new.size), own_column][:, None]
        g[new] = (known_new > own).sum(axis=1) + (scored > own).sum(axis=1)
        t[new] = (known_new == own).sum(axis=1) + (scored == own).sum(axis=1) - 1
        out[k] = expected_ndcg(g, t, 10)
    return out


def calibrate_new_items(  # noqa: PLR0914 (one validation pass over a grid)
    model: keras.Model,
    padded: np.ndarray,
    targets: np.ndarray,
    excluded: sp.csr_matrix,
    *,
    share: float = 0.1,
    warm_tolerance: float = 0.15,
    seed: int = 0,
    draws: int = CALIBRATION_DRAWS,
    batch_size: int = 1024,
) -> dict[str, Any]:
    """Choose how new items are scored, on validation, and store it in the model.

    ``draws`` seeded draws of a ``share`` of the warm items each play new: their
    columns are rescored as a new item's would be. The model's scores are those
    with every item known (a product that is really new is in nobody's history,
    so no history should lose a trained row to the play). Every setting of
    :data:`CALIBRATION_GRID` ranks each validation target, and the results are
    averaged over the draws (one draw's choice swings with which items it
    drew). The chosen setting gives the best NDCG@10 to the users whose target
    is pseudo-new, among those that keep the other users' NDCG@10 at
    ``1 - warm_tolerance`` of what the model gives them with every item warm
    (if none does, the one that costs them least). Both curves are monotone in
    the offset ``c``, so the grid's fine steps in ``c`` put the choice close to
    the tolerance's edge.

    Args:
        model: A model whose item table is a :class:`ContentItemEmbedding`.
        padded: ``(U, max_len)`` validation histories.
        targets: ``(U,)`` validation items.
        excluded: ``(U, n_items)`` each row's excluded items (its history).
        share: Share of warm items played as new in each draw.
        warm_tolerance: Relative NDCG@10 the other users may lose.
        seed: Seed of the pseudo-new draws.
        draws: Pseudo-new draws averaged.
        batch_size: Users per model call.

    Returns:
        ``weights`` (the chosen ``(a, b, c)``), the validation NDCG@10 of the
        ``warm`` and ``pseudo_new`` users with it and the warm users'
        ``reference`` (means over the draws), ``warm_share`` (the mean over
        the draws of warm / reference: what the tolerance bounds), and the
        number of draws, of pseudo-new items (per draw) and of pseudo-new
        users (all draws together).
    """
    from ncf_recommender.models.sequences import predict_in_batches  # noqa: PLC0415

    layer = model.get_layer(ITEM_EMBEDDING)
    warm = np.asarray(layer.warm)[1:] > 0
    candidates = np.flatnonzero(warm)
    count = min(max(1, round(share * candidates.size)), candidates.size - 1)
    pseudo = [
        np.sort(
            np.random.default_rng([seed, _PSEUDO_NEW_STREAM, draw]).choice(
                candidates, size=count, replace=False
            )
        )
        for draw in range(draws)
    ]
    cold_users = np.stack([np.isin(targets, items) for items in pseudo])
    played_cold = np.stack([~warm] * draws)  # the items each draw scores as new
    for draw, items in enumerate(pseudo):
        played_cold[draw, items] = True
    excluded = sp.csr_matrix(excluded)
    reference = np.zeros(targets.size)
    per_setting = np.zeros((draws, len(CALIBRATION_GRID), targets.size))
    for start in range(0, targets.size, batch_size):
        part = slice(start, start + batch_size)
        scores = predict_in_batches(model, padded[part], batch_size, layer.n_items)
        reference[part] = _ndcg_at_10(scores, targets[part], excluded[part])
        for draw in range(draws):
            per_setting[draw, :, part] = grid_ndcg(
                layer,
                scores,
                padded[part],
                targets[part],
                excluded[part],
                cold=played_cold[draw],
            )
    warm_ndcg = np.stack(
        [per_setting[d][:, ~cold_users[d]].mean(axis=1) for d in range(draws)]
    )
    references = np.array([reference[~cold_users[d]].mean() for d in range(draws)])
    cold_ndcg = np.stack(
        [
            per_setting[d][:, cold_users[d]].mean(axis=1)
            if cold_users[d].any()
            else np.zeros(len(CALIBRATION_GRID))
            for d in range(draws)
        ]
    )
    ratio = (warm_ndcg / np.maximum(references, 1e-12)[:, None]).mean(axis=0)
    cold_mean = cold_ndcg.mean(axis=0)
    allowed = np.flatnonzero(ratio >= 1.0 - warm_tolerance)
    if allowed.size:  # best for the pseudo-new users; a tie goes to the known ones
        best = int(allowed[np.lexsort((-ratio[allowed], -cold_mean[allowed]))[0]])
    else:  # no setting keeps the known items: the one that costs them least
        best = int(np.argmax(ratio))
    layer.new_item_weights.assign(np.asarray(CALIBRATION_GRID[best], np.float32))
    return {
        "weights": list(CALIBRATION_GRID[best]),
        "warm": float(warm_ndcg[:, best].mean()),
        "pseudo_new": float(cold_mean[best]),
        "reference": float(references.mean()),
        "warm_share": float(ratio[best]),
        "warm_tolerance": warm_tolerance,
        "draws": draws,
        "pseudo_new_items": int(count),
        "pseudo_new_users": int(cold_users.sum()),
    }


def calibrate_on_validation(
    model: keras.Model,
    validation: Any,
    *,
    share: float,
    warm_tolerance: float,
    seed: int,
    max_users: int | None = CALIBRATION_USERS,
) -> dict[str, Any]:
    """:func:`calibrate_new_items` on a sequence model's validation set.

    Args:
        model: The trained content-aware model.
        validation: A :class:`~ncf_recommender.training.sequence.SequenceValidation`.
        share: Share of warm items played as new.
        warm_tolerance: Relative NDCG@10 the other users may lose.
        seed: Seed of the pseudo-new draw and of the user sample.
        max_users: Validation users ranked at most (a seeded sample above it;
            ``None``: all).

    Returns:
        The calibration summary.
    """
    from ncf_recommender.models.sequences import pad_histories  # noqa: PLC0415

    max_len = int(model.inputs[0].shape[1])
    users = np.asarray(validation.users)
    targets = np.asarray(validation.targets)
    if max_users is not None and users.size > max_users:
        rng = np.random.default_rng([seed, _PSEUDO_NEW_STREAM, 1])
        keep = np.sort(rng.choice(users.size, size=max_users, replace=False))
        users, targets = users[keep], targets[keep]
    padded = pad_histories(validation.histories, None, max_len)[users]
    return calibrate_new_items(
        model,
        padded,
        targets,
        sp.csr_matrix(validation.exclude)[users],
        share=share,
        warm_tolerance=warm_tolerance,
        seed=seed,
    )
