"""Search spaces of the ``tuning`` pipeline, validated at start-up.

A search space maps the *path* of the parameter a trial overrides to one
:class:`SearchSpaceEntry`. A path names a key of the model's own namespace or
of a shared group the model reads:

* ``model.<key>``: the model's architecture (``<model>.model``, e.g.
  ``model.embedding_dim``);
* ``training_overrides.<key>``: its family's training group, as the
  namespace's ``training_overrides`` change it (e.g.
  ``training_overrides.learning_rate``, ``training_overrides.loss``);
* ``negative_sampling.<key>``: the training negatives of the NCF family
  (``negatives_per_positive``, ``strategy``, ``exponent``).

:class:`TuningParams` checks every path against the model's registered
parameter classes and every bound or choice against that key's own range
checks, so an unknown path or an impossible range stops the run before any
trial, naming ``tuning.spaces.<model>.<path>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ncf_recommender.models.registry import MODELS, get_model, split_names
from ncf_recommender.pipelines.feature_engineering.params import (
    NegativeSamplingParams,
)
from ncf_recommender.training.params import (
    SequenceTrainingOverrides,
    TrainingOverrides,
)

#: Path prefixes a search-space entry may override.
SECTIONS = ("model", "training_overrides", "negative_sampling")
#: Keys a search space may not override: the seed comes from ``tuning.seeds``
#: and the objective is the ``monitor`` the loop already selects epochs on.
RESERVED = frozenset(
    {"training_overrides.seed", "training_overrides.monitor", "model.architecture"}
)
#: ``negative_sampling`` keys that change the training negatives.
SAMPLING_KEYS = frozenset({"negatives_per_positive", "strategy", "exponent"})
_OVERRIDES = {"ncf": TrainingOverrides, "sequence": SequenceTrainingOverrides}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SearchSpaceEntry(_Strict):
    """The values one parameter takes in a study.

    Attributes:
        type: ``float``, ``int`` or ``categorical``.
        low: Smallest value (``float`` / ``int``).
        high: Largest value, included (``float`` / ``int``).
        log: Sample on a log scale (``low`` > 0; no ``step``).
        step: Grid step (``float`` / ``int``); ``None``: continuous (float) or 1.
        choices: The values of a ``categorical`` entry (``null`` allowed).
        when: Suggest this parameter only when each named path (suggested
            earlier in the same space) took one of the listed values, e.g.
            ``{training_overrides.loss: [sampled_softmax, bce]}``.
    """

    type: Literal["float", "int", "categorical"]
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = Field(default=None, gt=0)
    choices: tuple[Any, ...] | None = None
    when: dict[str, tuple[Any, ...]] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> SearchSpaceEntry:
        """Each type with its own keys, and a non-empty range."""
        if self.type == "categorical":
            if not self.choices:
                raise ValueError("categorical needs a non-empty 'choices' list")
            if any(v is not None for v in (self.low, self.high, self.step)) or self.log:
                raise ValueError(
                    "categorical takes only 'choices' (no low/high/log/step)"
                )
            return self
        if self.choices is not None:
            raise ValueError(f"{self.type} takes low/high, not 'choices'")
        if self.low is None or self.high is None:
            raise ValueError(f"{self.type} needs both 'low' and 'high'")
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.log and (self.low <= 0 or self.step is not None):
            raise ValueError("log scale needs low > 0 and no step")
        if self.type == "int" and not all(
            float(v).is_integer() for v in (self.low, self.high, self.step or 1)
        ):
            raise ValueError("int needs whole low, high and step")
        return self

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is one of this entry's values (bounds included)."""
        if self.type == "categorical":
            return any(
                value == choice and type(value) is type(choice)
                for choice in self.choices
            ) or (value is None and None in self.choices)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if self.type == "int" and not float(value).is_integer():
            return False
        return self.low <= value <= self.high

    def extremes(self) -> tuple[Any, ...]:
        """The values whose validity implies the whole range's (bounds or choices)."""
        if self.type == "categorical":
            return tuple(self.choices)
        cast = int if self.type == "int" else float
        return cast(self.low), cast(self.high)


def _check_value(name: str, path: str, value: Any) -> None:
    """Validate ``{path: value}`` with the class that owns the key.

    Raises:
        ValueError: If the key is unknown or the value out of its range.
    """
    entry = get_model(name)
    section, _, key = path.partition(".")
    if section == "model":
        architecture = entry.spec.model_fields["architecture"].annotation.__args__[0]
        entry.spec.model_validate({"architecture": architecture, key: value})
    elif section == "training_overrides":
        _OVERRIDES[entry.family].model_validate({key: value})
    else:
        NegativeSamplingParams.model_validate({key: value})


def check_path(name: str, path: str) -> None:
    """Refuse a path that names no parameter of model ``name``.

    Args:
        name: A registered model.
        path: ``<section>.<key>`` (see the module docstring).

    Raises:
        ValueError: Naming the known keys of the section.
    """
    entry = get_model(name)
    section, _, key = path.partition(".")
    if section not in SECTIONS or not key or "." in key:
        raise ValueError(f"a path is <section>.<key>, section one of {list(SECTIONS)}")
    if path in RESERVED:
        raise ValueError(
            "reserved: the seeds are tuning.seeds, the objective the monitor"
        )
    if section == "model":
        known = set(entry.spec.model_fields) - {"architecture"}
    elif section == "training_overrides":
        known = set(_OVERRIDES[entry.family].model_fields) - {"seed", "monitor"}
    elif entry.family == "ncf":
        known = set(SAMPLING_KEYS)
    else:
        raise ValueError(
            "negative_sampling is the NCF family's; sequence models sample with "
            "training_overrides.n_negatives"
        )
    if key not in known:
        raise ValueError(f"unknown {section} key {key!r}; known: {sorted(known)}")


def _problem(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}"
            for e in error.errors()
        )
    return str(error)


def _flat(paths: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{section: {key: value}}`` → ``{"section.key": value}``, stopping at entries."""
    flat: dict[str, Any] = {}
    for key, value in paths.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and "type" not in value and "." not in path:
            flat.update(_flat(value, f"{path}."))
        else:
            flat[path] = value
    return flat


class TuningParams(_Strict):
    """The ``tuning`` parameter group.

    Attributes:
        models: Models to tune; ``None``: the run's ``modelling.models``
            (``--params tuning.models=gmf+sasrec`` on the command line).
        n_trials: Trials per model in all (an interrupted study resumes and
            only runs the missing ones; complete, pruned and failed trials count).
        budget_seconds: Wall-clock budget per model per run: no trial starts
            after it, and a trial's training stops at it (``max_train_seconds``);
            ``None``: none.
        seeds: Training seeds of every trial (the objective is their mean).
            Report test figures with other seeds.
        pruner: ``median`` (Optuna's ``MedianPruner``), ``successive_halving``
            or ``none``, on the per-epoch validation curve of the first seed.
        warmup_epochs: Epochs before a trial may be pruned (``n_warmup_steps``
            of the median pruner, ``min_resource`` of successive halving).
        startup_trials: Trials the median pruner and the TPE sampler wait for
            before pruning / modelling the space.
        sampler_seed: Seed of the TPE sampler.
        spaces: Per model, parameter path → :class:`SearchSpaceEntry`.
        fixed: Per model, parameter path → value applied in every trial (e.g.
            a lower epoch cap for speed); not part of the tuned result.
    """

    models: tuple[str, ...] | None = None
    n_trials: int = Field(default=30, ge=1)
    budget_seconds: float | None = Field(default=3600.0, gt=0)
    seeds: tuple[int, ...] = Field(default=(0,), min_length=1)
    pruner: Literal["median", "successive_halving", "none"] = "median"
    warmup_epochs: int = Field(default=2, ge=0)
    startup_trials: int = Field(default=5, ge=0)
    sampler_seed: int = Field(default=0, ge=0)
    spaces: dict[str, dict[str, SearchSpaceEntry]] = Field(default_factory=dict)
    fixed: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("spaces", "fixed", mode="before")
    @classmethod
    def _flatten_paths(cls, value: Any) -> Any:
        """Accept nested sections as well as dotted paths.

        ``--params tuning.fixed.gmf.training_overrides.epochs=20`` arrives as
        ``{gmf: {training_overrides: {epochs: 20}}}``; it means the path
        ``training_overrides.epochs``.
        """
        if not isinstance(value, Mapping):
            return value
        return {
            name: _flat(paths) if isinstance(paths, Mapping) else paths
            for name, paths in value.items()
        }

    @field_validator("models", mode="before")
    @classmethod
    def _split_string(cls, value: Any) -> Any:
        """Accept ``"gmf+sasrec"`` (see :func:`~ncf_recommender.models.registry.split_names`)."""
        return split_names(value)

    @model_validator(mode="wrap")
    @classmethod
    def _name_the_key(cls, data: Any, handler: Any) -> Any:
        """Re-raise a schema error as a ``ValueError`` naming ``tuning.<key>``."""
        try:
            return handler(data)
        except ValidationError as error:
            raise ValueError(
                "; ".join(
                    f"tuning.{'.'.join(map(str, item['loc']))}: {item['msg']}"
                    f" (got {item.get('input')!r})"
                    for item in error.errors()
                )
            ) from None

    @model_validator(mode="after")
    def _known_paths(self) -> TuningParams:
        """Every model registered, every path known, every bound in range."""
        problems = []
        for name in (*(self.models or ()), *self.spaces, *self.fixed):
            if name not in MODELS:
                problems.append(
                    f"tuning: unknown model {name!r}; registered: {list(MODELS)}"
                )
        for group, entries in (("spaces", self.spaces), ("fixed", self.fixed)):
            for name, paths in entries.items():
                if name not in MODELS:
                    continue
                for path, spec in paths.items():
                    values = spec.extremes() if group == "spaces" else (spec,)
                    try:
                        check_path(name, path)
                        for value in values:
                            _check_value(name, path, value)
                        for condition in getattr(spec, "when", None) or {}:
                            if condition not in paths or condition == path:
                                raise ValueError(
                                    f"'when' names {condition!r}, not another "
                                    "path of this space"
                                )
                    except (ValueError, ValidationError) as error:
                        problems.append(
                            f"tuning.{group}.{name}.{path}: {_problem(error)}"
                        )
        if problems:
            raise ValueError("; ".join(dict.fromkeys(problems)))
        return self

    def space(self, name: str) -> dict[str, SearchSpaceEntry]:
        """Model ``name``'s search space.

        Raises:
            ValueError: If it has none.
        """
        if not self.spaces.get(name):
            raise ValueError(
                f"tuning.spaces has no entry for {name!r} (spaces for "
                f"{sorted(self.spaces)}): add one to conf/<env>/parameters_tuning.yml"
            )
        return self.spaces[name]


def suggest(trial: Any, space: Mapping[str, SearchSpaceEntry]) -> dict[str, Any]:
    """Draw a trial's values, in the space's order, skipping unmet ``when``.

    Args:
        trial: An ``optuna.Trial``.
        space: Path → entry.

    Returns:
        Path → value of the suggested parameters.
    """
    values: dict[str, Any] = {}
    for path, entry in space.items():
        if entry.when and not all(
            values.get(other) in allowed for other, allowed in entry.when.items()
        ):
            continue
        if entry.type == "categorical":
            values[path] = trial.suggest_categorical(path, list(entry.choices))
        elif entry.type == "int":
            values[path] = trial.suggest_int(
                path,
                int(entry.low),
                int(entry.high),
                step=int(entry.step or 1),
                log=entry.log,
            )
        else:
            values[path] = trial.suggest_float(
                path, entry.low, entry.high, step=entry.step, log=entry.log
            )
    return values


def apply_overrides(
    overrides: Mapping[str, Any], sections: Mapping[str, Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """New section mappings with path overrides applied (inputs unchanged).

    Args:
        overrides: Path (``<section>.<key>``) → value.
        sections: Section → its current mapping (``model``,
            ``training_overrides``, ``negative_sampling``).

    Returns:
        Section → a new mapping with the overridden keys.

    Raises:
        ValueError: If a path's section is not among ``sections``.
    """
    result = {section: dict(values) for section, values in sections.items()}
    for path, value in overrides.items():
        section, _, key = path.partition(".")
        if section not in result:
            raise ValueError(
                f"override {path!r}: this model has no {section!r} section "
                f"(sections: {sorted(result)})"
            )
        result[section][key] = value
    return result


def configured_values(
    paths: list[str], sections: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """The configured value of each path that has one (the defaults' trial).

    Args:
        paths: Paths of a search space.
        sections: Section → the effective configured mapping.

    Returns:
        Path → value, for the paths the sections set.
    """
    found = {}
    for path in paths:
        section, _, key = path.partition(".")
        if key in sections.get(section, {}):
            found[path] = sections[section][key]
    return found
