"""Content-aware item representations: an item is its id embedding plus its metadata.

:class:`ContentItemEmbedding` is a drop-in replacement for
:class:`~ncf_recommender.models.layers.TiedItemEmbedding` (same name, same calls:
look ids up, or score hidden states against every item), whose row for item
``i`` is

    ``warm[i] * keep[i] * id_embedding[i]  +  sum_f weight[i, f] * feature_embedding[f]``

- the **content tower** is a learned embedding per metadata feature (category
  levels, brand, price bucket, title tokens, related items: see the
  ``item_metadata`` pipeline), summed with the item's feature weights;
- **id-embedding dropout** (the DropoutNet idea): while training, each item's id
  part is dropped with probability ``id_dropout`` at every step, so the model
  learns to score items from their content alone as well;
- **cold items** (``warm[i] = 0``: no training interaction) never use their id
  embedding, which was never trained: they are scored from content only. While
  training they do not exist (their rows are zero: a sampled cold negative is a
  constant logit that passes no gradient), as a product added later did not. A
  product added after training gets a row through :meth:`set_content`.

The feature lists are stored in the layer as non-trainable weights (flat
``(row, feature, weight)`` triples), so a saved ``.keras`` model carries them.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import scipy.sparse as sp
from keras import ops

from ncf_recommender.models.layers import SERIALIZATION_PACKAGE, TiedItemEmbedding


@keras.saving.register_keras_serializable(package=SERIALIZATION_PACKAGE)
class ContentItemEmbedding(TiedItemEmbedding):
    """Tied item table of id embeddings plus a content tower (see the module docstring).

    Row 0 is the padding id; row ``i + 1`` is item ``i``.

    Args:
        n_items: Catalogue size.
        dim: Embedding size.
        n_features: Metadata vocabulary size.
        nnz: Number of stored (item, feature) pairs.
        id_dropout: Probability of dropping an item's id part while training.
        embeddings_regularizer: Optional regulariser of both tables.
        seed: Seed of the id-dropout draws.
        **kwargs: Base ``Layer`` arguments.
    """

    def __init__(
        self,
        n_items: int,
        dim: int,
        *,
        n_features: int,
        nnz: int,
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
        self.id_dropout = float(id_dropout)
        self.seed = seed
        self._seeds = keras.random.SeedGenerator(seed)
        rows = self.n_items + 1
        self.feature_embeddings = self.add_weight(
            shape=(max(self.n_features, 1), self.dim),
            initializer=keras.initializers.RandomNormal(stddev=0.01),
            regularizer=self.embeddings_regularizer,
            name="feature_embeddings",
        )
        self.pair_rows = self.add_weight(
            shape=(self.nnz,), initializer="zeros", dtype="int32",
            trainable=False, name="pair_rows",
        )  # fmt: skip
        self.pair_features = self.add_weight(
            shape=(self.nnz,), initializer="zeros", dtype="int32",
            trainable=False, name="pair_features",
        )  # fmt: skip
        self.pair_weights = self.add_weight(
            shape=(self.nnz,), initializer="zeros", trainable=False, name="pair_weights"
        )
        self.warm = self.add_weight(
            shape=(rows,), initializer="ones", trainable=False, name="warm"
        )

    def set_content(self, features: sp.spmatrix, warm: np.ndarray) -> None:
        """Store each item's features and whether it has training interactions.

        Args:
            features: ``(n_items, n_features)`` item features (row ``i`` is item
                ``i``); exactly ``nnz`` stored entries.
            warm: ``(n_items,)`` booleans: the item has training interactions.

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
        warm = np.asarray(warm, dtype=bool)
        if warm.shape != (self.n_items,):
            raise ValueError(
                f"warm must have shape ({self.n_items},), got {warm.shape}"
            )
        self.pair_rows.assign(coo.row.astype(np.int32) + 1)
        self.pair_features.assign(coo.col.astype(np.int32))
        self.pair_weights.assign(coo.data.astype(np.float32))
        self.warm.assign(np.r_[0.0, warm.astype(np.float32)])

    def table(self, training: bool = False) -> Any:
        """The ``(n_items + 1, dim)`` item table (row 0: padding, all zeros)."""
        content = ops.segment_sum(
            ops.take(self.feature_embeddings, self.pair_features, axis=0)
            * self.pair_weights[:, None],
            self.pair_rows,
            num_segments=self.n_items + 1,
        )
        keep = self.warm
        if not training:
            return self.embeddings * keep[:, None] + content
        if self.id_dropout > 0.0:
            draws = keras.random.uniform((self.n_items + 1,), seed=self._seeds)
            keep = keep * ops.cast(draws >= self.id_dropout, keep.dtype)
        table = self.embeddings * keep[:, None] + content
        # A cold item (no training interaction) would only ever be a negative:
        # the model would learn to avoid its content. While training it does not
        # exist: its row is zero, a constant logit that passes no gradient.
        return table * self.warm[:, None]

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
        table = self.table(training=bool(training))
        if reverse:
            items = ops.cast(table[1:], inputs.dtype)
            return ops.matmul(inputs, ops.transpose(items))
        return ops.take(table, ops.cast(inputs, "int32"), axis=0)

    def get_config(self) -> dict[str, Any]:
        """Serialisable constructor arguments."""
        config = super().get_config()
        config.pop("embeddings_initializer", None)
        config.update(
            n_features=self.n_features,
            nnz=self.nnz,
            id_dropout=self.id_dropout,
            seed=self.seed,
        )
        return config


def build_content_sasrec(
    features: sp.spmatrix,
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
        features: ``(n_items, n_features)`` item features (unit-norm rows).
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
    from ncf_recommender.models.layers import ITEM_EMBEDDING  # noqa: PLC0415
    from ncf_recommender.models.sasrec import build_sasrec  # noqa: PLC0415

    features = sp.csr_matrix(features)
    n_items, n_features = features.shape
    items = ContentItemEmbedding(
        n_items,
        dim,
        n_features=n_features,
        nnz=features.nnz,
        id_dropout=id_dropout,
        embeddings_regularizer=keras.regularizers.L2(l2) if l2 else None,
        name=ITEM_EMBEDDING,
    )
    items.set_content(features, warm)
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
