"""The pointwise NCF family's adapter of the training loop (GMF, MLP-NCF, NeuMF).

An epoch draws fresh negatives from the catalogued
:class:`~ncf_recommender.training.sampling.NegativeSampler` (``examples(epoch,
seed)``), shuffles the examples with a stream of its own, and feeds them as
whole batches to ``model.fit`` (binary cross-entropy, ``steps_per_execution``
steps per graph call). With ``loss: softmax`` (GMF only) an epoch is the
shuffled positives instead, and a graph over the same layers scores each
positive's user against every item (:func:`catalogue_model`). Validation ranks
every sampled validation user's held-out item among all items, the user's
train items removed. Epoch 0 is the
model before training, so a pretrained NeuMF can keep its initial weights.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from ncf_recommender.constants import ITEM_IDX, USER_IDX
from ncf_recommender.evaluation import full_ranking_metrics, interaction_matrix
from ncf_recommender.models.gmf import (
    GMF_ITEM_EMBEDDING,
    GMF_USER_EMBEDDING,
    PREDICTION,
)
from ncf_recommender.models.scorers import KerasScorer
from ncf_recommender.training.batches import ExamplesProgress, batched_dataset
from ncf_recommender.training.loop import (
    EpochStats,
    TrainingResult,
    fit,
    validation_sample,
)
from ncf_recommender.training.optimizers import build_optimizer
from ncf_recommender.training.params import TrainingParams
from ncf_recommender.training.sampling import NegativeSampler
from ncf_recommender.training.schedules import learning_rate_schedule


@dataclass(frozen=True)
class NCFData:
    """What an NCF model trains and validates on.

    Attributes:
        sampler: The training positives and their negative sampler.
        val_users: ``user_idx`` of the validation rows (one held-out item each).
        val_items: ``item_idx`` of the validation rows.
        train_users: ``user_idx`` of the training interactions (the items
            validation removes from each user's ranking).
        train_items: ``item_idx`` of the training interactions.
        n_users: Number of users.
        n_items: Number of items.
    """

    sampler: NegativeSampler
    val_users: np.ndarray
    val_items: np.ndarray
    train_users: np.ndarray
    train_items: np.ndarray
    n_users: int
    n_items: int


def epoch_dataset(
    sampler: NegativeSampler, epoch: int, params: TrainingParams
) -> tuple[tf.data.Dataset, int]:
    """This epoch's examples (fresh negatives), shuffled with the seed, batched.

    Args:
        sampler: The training sampler (its ``examples(epoch, seed)``).
        epoch: Epoch number (1-based).
        params: ``seed`` and ``batch_size``.

    Returns:
        The dataset of ``({"user_idx", "item_idx"}, label)`` batches and the
        number of examples in it.
    """
    users, items, labels = sampler.examples(epoch, params.seed)
    # A stream of its own: the sampler draws from default_rng([seed, epoch]).
    order = np.random.default_rng([params.seed, epoch, 1]).permutation(labels.size)
    structure = (
        {
            USER_IDX: users[order].astype(np.int32, copy=False),
            ITEM_IDX: items[order].astype(np.int32, copy=False),
        },
        labels[order].astype(np.float32, copy=False),
    )
    return batched_dataset(structure, params.batch_size), int(labels.size)


class CatalogueLogits(keras.layers.Layer):
    """GMF's logit of every item for a batch of users: ``(p_u * h) . q_i``.

    GMF scores ``sigmoid(h . (p_u * q_i) + b)``; the bias is the same for every
    item, so it drops out of a softmax over the catalogue. The layer reads the
    item table and ``h`` of the GMF layers it is given (the variables are
    shared, not copied).
    """

    def __init__(
        self,
        items: keras.layers.Embedding,
        prediction: keras.layers.Dense,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        # the variables themselves, not the layers: the bias gets no gradient
        self.table = items.embeddings
        self.weighting = prediction.kernel

    def call(self, users: Any) -> Any:
        """``(batch, dim)`` user vectors to ``(batch, n_items)`` logits."""
        weighted = users * keras.ops.squeeze(self.weighting, axis=-1)
        return keras.ops.matmul(weighted, keras.ops.transpose(self.table))


def catalogue_model(model: keras.Model) -> keras.Model:
    """A graph over a GMF model's own layers: ``user_idx`` to every item's logit.

    Args:
        model: A GMF model (:func:`~ncf_recommender.models.gmf.build_gmf`).

    Returns:
        The model that ``loss: softmax`` trains; training it trains ``model``.

    Raises:
        ValueError: If ``model`` is not a GMF (no GMF layers, or an MLP tower).
    """
    names = {layer.name for layer in model.layers}
    needed = {GMF_USER_EMBEDDING, GMF_ITEM_EMBEDDING, PREDICTION}
    # NeuMF carries GMF's layers too, but its score is not their dot product
    mlp_tower = any(name.startswith("mlp") for name in names)
    if not needed <= names or mlp_tower:
        raise ValueError(
            f"training.loss 'softmax' trains GMF only, not {model.name!r}: "
            "set loss: bce in its training_overrides"
        )
    users = keras.Input(shape=(), dtype="int32", name=USER_IDX)
    vectors = model.get_layer(GMF_USER_EMBEDDING)(users)
    logits = CatalogueLogits(
        model.get_layer(GMF_ITEM_EMBEDDING), model.get_layer(PREDICTION)
    )(vectors)
    return keras.Model(users, logits, name=f"{model.name}_catalogue")


def positives_dataset(
    users: np.ndarray, items: np.ndarray, epoch: int, params: TrainingParams
) -> tuple[tf.data.Dataset, int]:
    """The training positives, shuffled with the seed and epoch, batched.

    Returns:
        The dataset of ``(user_idx, item_idx)`` batches and the number of positives.
    """
    order = np.random.default_rng([params.seed, epoch, 1]).permutation(users.size)
    structure = (
        users[order].astype(np.int32, copy=False),
        items[order].astype(np.int32, copy=False),
    )
    return batched_dataset(structure, params.batch_size), int(users.size)


def pairwise_cap(params: TrainingParams, n_items: int) -> int | None:
    """The validation-user cap of a model that runs a network on every pair.

    Args:
        params: ``validation_max_pairs``.
        n_items: Catalogue size.

    Returns:
        ``validation_max_pairs // n_items`` (at least 1), or ``None``: no cap.
    """
    if params.validation_max_pairs is None:
        return None
    return max(1, params.validation_max_pairs // n_items)


class NCFAdapter:
    """Per-epoch hooks of the NCF family (see :class:`~ncf_recommender.training.loop.FamilyAdapter`)."""

    unit = "examples"
    validate_initial = True

    def __init__(self, data: NCFData, params: TrainingParams) -> None:
        """Hold the data and the parameters of one training run.

        Args:
            data: Training sampler and validation rows.
            params: The validated ``training`` group (with overrides).

        Raises:
            ValueError: If there are no training interactions or no validation rows.
        """
        if data.sampler.n_positives == 0:
            raise ValueError("train_interactions is empty: nothing to train on")
        self.data = data
        self.params = params
        self.val_users = np.asarray(data.val_users)
        self.val_items = np.asarray(data.val_items)
        self.exclude: Any = None
        self.trained: keras.Model | None = None

    def prepare(self, model: keras.Model) -> int:
        """Pick the validation sample, index train items, compile the model.

        Returns:
            Examples per epoch.

        Raises:
            ValueError: If there are no validation rows.
        """
        data, params = self.data, self.params
        pairwise = KerasScorer(model, data.n_items).pairwise
        cap = pairwise_cap(params, data.n_items) if pairwise else None
        keep = validation_sample(self.val_users.size, params, cap=cap)
        if keep is not None:
            self.val_users, self.val_items = self.val_users[keep], self.val_items[keep]
        if self.val_users.size == 0:
            raise ValueError(
                "val_interactions is empty: early stopping needs validation rows"
            )
        self.exclude = interaction_matrix(
            np.asarray(data.train_users),
            np.asarray(data.train_items),
            data.n_users,
            data.n_items,
        )
        softmax = params.loss == "softmax"
        self.trained = catalogue_model(model) if softmax else model
        examples = (
            np.asarray(data.train_users).size
            if softmax
            else data.sampler.n_positives * (1 + data.sampler.negatives_per_positive)
        )
        rate = learning_rate_schedule(
            params.learning_rate,
            params.decay_epochs,
            params.decay_floor,
            math.ceil(examples / params.batch_size),
        )
        self.trained.compile(
            optimizer=build_optimizer(
                params.optimizer, rate, weight_decay=params.weight_decay
            ),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)
            if softmax
            else keras.losses.BinaryCrossentropy(),
            steps_per_execution=params.steps_per_execution,
        )
        return examples

    def train_epoch(
        self, model: keras.Model, epoch: int, advance: Callable[[float], None]
    ) -> EpochStats:
        """One pass over this epoch's positives and fresh negatives (``bce``), or
        over its shuffled positives (``softmax``)."""
        if self.params.loss == "softmax":
            dataset, n_examples = positives_dataset(
                np.asarray(self.data.train_users),
                np.asarray(self.data.train_items),
                epoch,
                self.params,
            )
        else:
            dataset, n_examples = epoch_dataset(self.data.sampler, epoch, self.params)
        fitted = self.trained.fit(
            dataset,
            epochs=1,
            verbose=0,
            shuffle=False,
            callbacks=[ExamplesProgress(advance, self.params.batch_size, n_examples)],
        )
        return EpochStats(float(fitted.history["loss"][-1]), n_examples)

    def validate(self, model: keras.Model) -> dict[str, Any]:
        """HR@10 and NDCG@10 (and MRR) of the validation sample, full ranking."""
        return full_ranking_metrics(
            KerasScorer(model, self.data.n_items),
            self.val_users,
            self.val_items,
            self.exclude,
            ks=(10,),
            batch_size=self.params.eval_batch_size,
            description=f"{model.name} validation",
        )


def train_ncf(
    model: keras.Model, data: NCFData, params: TrainingParams
) -> TrainingResult:
    """Train an NCF model with per-epoch negatives and early stopping.

    Args:
        model: A model from the NCF builders (seeded by the caller); it is
            compiled here and trained in place.
        data: Sampler and validation rows.
        params: The validated ``training`` group (with overrides).

    Returns:
        The :class:`~ncf_recommender.training.loop.TrainingResult`.
    """
    return fit(NCFAdapter(data, params), model, params)
