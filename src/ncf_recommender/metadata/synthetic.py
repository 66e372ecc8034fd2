"""Product metadata for the generated catalogue, in the real 2014 and 2023 formats.

The embedded generator (:mod:`ncf_recommender.data.generator`) draws ratings from
a catalogue of categories with purchase chains. This module writes that
catalogue's metadata as the real files spell it, so the default data exercises
the metadata readers, the report and the item features offline:

- **category path**: ``Electronics > <department> > <category>``, following the
  generator's categories;
- **brand**: from a long-tailed set. Each department has its own brand ranking
  (a Zipf draw over a department-specific order), so a brand carries signal
  about the department, as on Amazon where brands specialise;
- **price**: log-normal around a per-category median (unknown for a share of
  items, larger in the 2023 format, where prices are often null);
- **title**: brand, a descriptor, the category's name and a model code;
- **related items**: the item's purchase-chain complements as ``also_bought``
  (the first one also ``bought_together``), and items of the same category near
  its popularity rank as ``also_viewed``.

Items of one category share co-purchase behaviour in the ratings (the chains
and the users' interest categories), and the metadata names that category: the
content carries the same signal real metadata does.

With ``dirt > 0`` a share of lines is made bad the way real files are: a line cut
short (unparsable), a record without its id, a price that is not a number.
"""

from __future__ import annotations

import ast
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from ncf_recommender.data.generator import (
    CATEGORY_NAMES,
    ItemCatalogue,
    generate_item_catalogue,
)
from ncf_recommender.datasets import resolve_sizes
from ncf_recommender.metadata.readers import attach_report, parse_metadata_lines

#: Formats the generator writes.
SYNTHETIC_FORMATS: tuple[str, ...] = ("amazon-2014", "amazon-2023")
#: Department (second level of the category path) of each generated category,
#: by the first word(s) of its name.
_DEPARTMENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "Camera & Photo",
        ("camera", "lens", "memory card", "card reader", "tripod", "remote shutter"),
    ),
    (
        "Computers & Accessories",
        (
            "laptop",
            "mouse",
            "keyboard",
            "usb",
            "external drive",
            "drive enclosure",
            "internal drive",
            "sata",
            "memory module",
            "monitor",
            "printer",
            "ink",
            "tablet",
            "stylus",
            "screen protector",
            "cleaning kit",
        ),
    ),
    (
        "Television & Video",
        ("tv", "hdmi", "streaming player", "remote control"),
    ),
    (
        "Home Audio",
        ("soundbar", "subwoofer", "optical cable", "speaker", "radio"),
    ),
    (
        "Portable Audio & Video",
        ("headphone", "audio cable", "mp3 player", "e-reader", "reading light"),
    ),
    ("Car & Vehicle Electronics", ("car charger", "gps")),
    (
        "Networking & Power",
        (
            "router",
            "network",
            "wifi",
            "surge",
            "ups",
            "wall charger",
            "battery",
            "rechargeable",
            "security camera",
        ),
    ),
)
_DESCRIPTORS = (
    "Pro",
    "Ultra",
    "Compact",
    "Premium",
    "Slim",
    "Portable",
    "Wireless",
    "HD",
    "Mini",
    "Max",
    "Classic",
    "Plus",
)
_SYLLABLES = (
    "ka", "ro", "vi", "tex", "lo", "mar", "zen", "qua", "ny", "sol", "tri", "dex",
    "ven", "ori", "pix", "ul", "tra", "neo", "sta", "gen", "ax", "ion", "ber", "fy",
)  # fmt: skip
#: Brands in the vocabulary, and the Zipf exponent of a brand's share.
_N_BRANDS = 800
_BRAND_ZIPF = 1.1
#: Log-normal spread of prices around their category's median, and the range of
#: category medians (dollars).
_PRICE_SIGMA = 0.5
_MEDIAN_RANGE = (6.0, 400.0)
#: Share of items whose price is unknown, per format (2023 prices are often null).
_MISSING_PRICE = {"amazon-2014": 0.15, "amazon-2023": 0.55}
#: Substitutes (``also_viewed``) per item.
_N_SUBSTITUTES = 4


def department_of(category: str) -> str:
    """The department of a generated category name."""
    for department, prefixes in _DEPARTMENTS:
        if any(category.startswith(prefix) for prefix in prefixes):
            return department
    return "Accessories & Supplies"


def _brand_names(rng: np.random.Generator) -> np.ndarray:
    """Distinct pronounceable brand names."""
    names: dict[str, None] = {}
    while len(names) < _N_BRANDS:
        parts = rng.choice(_SYLLABLES, size=rng.integers(2, 4))
        names.setdefault("".join(parts).capitalize(), None)
    return np.array(list(names), dtype=object)


def _brands(rng: np.random.Generator, departments: np.ndarray) -> np.ndarray:
    """One brand per item: a Zipf draw over its department's own brand order."""
    names = _brand_names(rng)
    weights = np.arange(1, _N_BRANDS + 1, dtype=np.float64) ** -_BRAND_ZIPF
    cdf = np.cumsum(weights / weights.sum())
    out = np.empty(departments.size, dtype=object)
    for department in np.unique(departments):
        rows = np.flatnonzero(departments == department)
        order = rng.permutation(_N_BRANDS)
        picks = np.searchsorted(cdf, rng.random(rows.size), side="right")
        out[rows] = names[order[np.minimum(picks, _N_BRANDS - 1)]]
    return out


def _substitutes(catalogue: ItemCatalogue, rng: np.random.Generator) -> np.ndarray:
    """``(n_items, 4)`` items of the same category near each item's rank."""
    n = catalogue.category.size
    first = np.arange(n) - catalogue.rank
    size = np.bincount(catalogue.category)[catalogue.category]
    offsets = rng.integers(1, 6, (n, _N_SUBSTITUTES)) * rng.choice([-1, 1], (n, 4))
    ranks = np.clip(catalogue.rank[:, None] + offsets, 0, size[:, None] - 1)
    return first[:, None] + ranks


def item_metadata_records(
    catalogue: ItemCatalogue, fmt: str, seed: int
) -> list[dict[str, Any]]:
    """The metadata record of every item, as the format's files hold them.

    Args:
        catalogue: The generated catalogue (:func:`generate_item_catalogue`).
        fmt: ``"amazon-2014"`` or ``"amazon-2023"``.
        seed: Seed of the metadata draws (names, prices, missing values).

    Returns:
        One dict per item, in item order.

    Raises:
        ValueError: On an unknown format.
    """
    if fmt not in SYNTHETIC_FORMATS:
        raise ValueError(f"format must be one of {SYNTHETIC_FORMATS}, got {fmt!r}")
    rng = np.random.default_rng([seed, 0x3E7A])
    names = np.array([name.title() for name in CATEGORY_NAMES], dtype=object)
    departments = np.array(
        [department_of(name) for name in CATEGORY_NAMES], dtype=object
    )[catalogue.category]
    brands = _brands(rng, departments)
    low, high = np.log(_MEDIAN_RANGE)
    medians = np.exp(rng.uniform(low, high, len(CATEGORY_NAMES)))
    prices = medians[catalogue.category] * np.exp(
        rng.normal(0.0, _PRICE_SIGMA, catalogue.category.size)
    )
    prices = np.maximum(np.floor(prices) + 0.99, 0.99)
    known = rng.random(prices.size) >= _MISSING_PRICE[fmt]
    descriptors = rng.choice(_DESCRIPTORS, prices.size)
    codes = rng.integers(100, 9999, prices.size)
    substitutes = _substitutes(catalogue, rng)
    ids = catalogue.item_ids.tolist()
    records = []
    for i, item in enumerate(ids):
        category = names[catalogue.category[i]]
        path = ["Electronics", str(departments[i]), str(category)]
        title = f"{brands[i]} {descriptors[i]} {category} {str(brands[i])[:2].upper()}-{codes[i]}"
        complements = list(
            dict.fromkeys(ids[j] for j in catalogue.complements[i].tolist())
        )
        viewed = [ids[j] for j in dict.fromkeys(substitutes[i].tolist()) if j != i]
        price = float(prices[i]) if known[i] else None
        if fmt == "amazon-2014":
            record: dict[str, Any] = {"asin": str(item), "title": title}
            if price is not None:
                record["price"] = price
            record.update(
                salesRank={"Electronics": int(catalogue.rank[i]) + 1},
                categories=[path],
                brand=str(brands[i]),
                related={
                    "also_bought": complements,
                    "also_viewed": viewed,
                    "bought_together": complements[:1],
                },
            )
        else:
            record = {
                "main_category": "All Electronics",
                "title": title,
                "features": [],
                "description": [],
                "price": price,
                "store": str(brands[i]),
                "categories": path,
                "details": {"Brand": str(brands[i])},
                "parent_asin": str(item),
                "bought_together": complements[:1] or None,
            }
        records.append(record)
    return records


def _dirty(line: str, kind: int, fmt: str) -> str:
    """Spoil a line: 0 cut short, 1 without id, 2 a price that is not a number."""
    if kind == 0:
        return line[: len(line) // 2]
    record = ast.literal_eval(line) if fmt == "amazon-2014" else json.loads(line)
    if kind == 1:
        record.pop("asin" if fmt == "amazon-2014" else "parent_asin")
    else:
        record["price"] = "Currently unavailable"
    return repr(record) if fmt == "amazon-2014" else json.dumps(record)


def metadata_lines(
    catalogue: ItemCatalogue, fmt: str, seed: int, dirt: float = 0.0
) -> Iterator[bytes]:
    """The metadata file of the catalogue, line by line (newline-terminated).

    Args:
        catalogue: The generated catalogue.
        fmt: ``"amazon-2014"`` (Python dict literals) or ``"amazon-2023"`` (JSON).
        seed: Seed of the metadata draws.
        dirt: Share of lines spoiled (see the module docstring).

    Yields:
        UTF-8 lines.
    """
    rng = np.random.default_rng([seed, 0xD1A7])
    records = item_metadata_records(catalogue, fmt, seed)
    spoiled = rng.random(len(records)) < dirt
    kinds = rng.integers(0, 3, len(records))
    for i, record in enumerate(records):
        line = repr(record) if fmt == "amazon-2014" else json.dumps(record)
        if spoiled[i]:
            line = _dirty(line, int(kinds[i]), fmt)
        yield (line + "\n").encode("utf-8")


def write_item_metadata(
    catalogue: ItemCatalogue, path: str | Path, fmt: str, seed: int = 42
) -> Path:
    """Write the catalogue's metadata file (gzipped when the name ends in ``.gz``).

    Returns:
        The path written.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as handle:
        for line in metadata_lines(catalogue, fmt, seed):
            handle.write(line)
    return path


class SyntheticItemMetadataDataset(AbstractDataset[pd.DataFrame, pd.DataFrame]):
    """Metadata of the generated items, parsed by the real readers.

    Takes the same size arguments as
    :class:`~ncf_recommender.datasets.SyntheticRatingsDataset`; with the same
    values, the item ids match that dataset's ratings.
    """

    def __init__(  # the generator's arguments, as the catalog spells them
        self,
        *,
        format: str = "amazon-2014",  # noqa: A002 (the catalog key users write)
        n_ratings: int | None = None,
        n_users: int | None = None,
        n_items: int | None = None,
        seed: int = 42,
        dirt: float = 0.0,
        preset: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Configure the generation (see ``SyntheticRatingsDataset``).

        Raises:
            DatasetError: On an unknown format or preset.
        """
        if format not in SYNTHETIC_FORMATS:
            raise DatasetError(
                f"SyntheticItemMetadataDataset: format must be one of "
                f"{list(SYNTHETIC_FORMATS)}, got {format!r}"
            )
        self._sizes = resolve_sizes(
            "SyntheticItemMetadataDataset", preset, n_ratings, n_users, n_items
        )
        self._format = format
        self._seed = seed
        self._dirt = dirt
        self.metadata = metadata

    def load(self) -> pd.DataFrame:
        """Generate the metadata file's lines and parse them.

        Returns:
            The ``item_metadata`` table with its reader report.
        """
        catalogue = generate_item_catalogue(seed=self._seed, **self._sizes)
        lines = metadata_lines(catalogue, self._format, self._seed, self._dirt)
        frame, rejected, invalid, examples = parse_metadata_lines(
            lines, self._format, description="reading generated item metadata"
        )
        return attach_report(
            frame,
            file=f"<generated {self._format} metadata, seed {self._seed}>",
            fmt=self._format,
            rejected=rejected,
            invalid=invalid,
            examples=examples,
        )

    def save(self, data: pd.DataFrame) -> None:
        """Refuse: generated data is read-only.

        Raises:
            DatasetError: Always.
        """
        raise DatasetError(
            "SyntheticItemMetadataDataset is read-only: it generates its data on load."
        )

    def _exists(self) -> bool:
        return True

    def _describe(self) -> dict[str, Any]:
        return {"format": self._format, "seed": self._seed, **self._sizes}
