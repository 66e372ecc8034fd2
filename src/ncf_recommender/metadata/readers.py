"""Read product metadata from the real Amazon formats into one ``item_metadata`` table.

Four source formats, one output schema (:data:`METADATA_COLUMNS`), keyed by the
original item id as the ratings file spells it:

=================  ==========================================================
``amazon-2014``    ``meta_<Category>.json.gz`` of 2014: one **Python dict literal**
                   a line (single quotes, not JSON). Parsed with
                   :func:`ast.literal_eval`, which accepts literals only and never
                   runs code. ``asin``, ``title``, ``brand``, ``price`` (a number),
                   ``categories`` (a list of category paths) and ``related``
                   (``also_bought``, ``also_viewed``, ``bought_together``).
``amazon-2018``    ``meta_<Category>.json.gz`` of 2018: JSON lines; ``asin``,
                   ``title``, ``brand``, ``price`` (text such as ``"$12.99"``),
                   ``category`` (one path), ``main_cat``, ``also_buy``, ``also_view``.
``amazon-2023``    ``meta_<Category>.jsonl`` of 2023: JSON lines; ``parent_asin``,
                   ``title``, ``store`` (the brand), ``price`` (a number or null),
                   ``main_category``, ``categories`` (one path), ``bought_together``.
``grocery-tsv``    the redistributed Grocery 5-core item table: tab-separated
                   ``item_id``, ``i_category`` (an integer id), ``r_complement`` and
                   ``r_substitute`` (bracketed lists of item ids).
=================  ==========================================================

Output columns: ``item_id`` (text), ``title`` and ``brand`` (text or null),
``categories`` (the category path, most general first, as a list of names),
``price`` (float, null when unknown), ``complements`` (items bought with it:
bought-together first, then also-bought) and ``substitutes`` (also-viewed items).

Nothing is lost silently. Lines that cannot be parsed, records without an id and
repeated ids (the first record is kept) are rejected and counted by reason; a price
that is present but not a number is kept as unknown and counted. The counts travel
in ``frame.attrs["reader_report"]`` in the same shape as the ratings readers'
report (:mod:`ncf_recommender.readers`), with a few quoted examples.
"""

from __future__ import annotations

import ast
import html
import json
import logging
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from ncf_recommender.progress import progress
from ncf_recommender.readers import (
    MAX_EXAMPLES,
    READER_REPORT_ATTR,
    TruncatedSourceError,
    compression_of,
    example_entry,
    open_stream,
    truncation_message,
)

logger = logging.getLogger(__name__)

#: Columns of the ``item_metadata`` table, in order.
METADATA_COLUMNS: tuple[str, ...] = (
    "item_id",
    "title",
    "brand",
    "categories",
    "price",
    "complements",
    "substitutes",
)
#: Reasons a metadata line is rejected.
REJECT_REASONS: tuple[str, ...] = ("unparsable_line", "missing_id", "duplicate_id")
#: Reasons a value is set to unknown while its record is kept.
INVALID_VALUE_REASONS: tuple[str, ...] = ("price_not_number",)
#: A price as shops write it: optional currency sign, thousands commas, decimals.
_PRICE = re.compile(r"^\s*\$?\s*(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?\s*$")
#: A price range (``"$10.99 - $15.99"``): its lower end is taken.
_PRICE_RANGE = re.compile(
    r"^\s*(\$?\s*[\d,]+(?:\.\d+)?)\s*-\s*\$?\s*[\d,]+(?:\.\d+)?\s*$"
)


class _Rejected(Exception):
    """A record that cannot be kept; ``args[0]`` is the reason."""


def parse_price(value: Any) -> tuple[float | None, bool]:
    """A price as a float, and whether a present value was not a number.

    Absent values (``None``, ``""``, NaN) are unknown, not invalid. A range
    (``"$10 - $15"``) gives its lower end.

    Args:
        value: The source's price field.

    Returns:
        ``(price, invalid)``: ``price`` is ``None`` when unknown or invalid.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, False
    if isinstance(value, bool):
        return None, True
    if isinstance(value, int | float):
        if math.isnan(value):
            return None, False
        return (
            (float(value), False)
            if math.isfinite(value) and value >= 0
            else (None, True)
        )
    if isinstance(value, str):
        text = value
        ranged = _PRICE_RANGE.match(text)
        if ranged:
            text = ranged.group(1)
        match = _PRICE.match(text)
        if match:
            return float(
                match.group(1).replace(",", "") + (match.group(2) or "")
            ), False
    return None, True


def _text(value: Any) -> str | None:
    """Non-empty text with HTML entities decoded, else ``None``."""
    if not isinstance(value, str):
        return None
    value = html.unescape(value).strip()
    return value or None


def _ids(value: Any) -> list[str]:
    """A list of item ids as text (numbers become their decimal text)."""
    if not isinstance(value, list):
        return []
    out = []
    for entry in value:
        if isinstance(entry, str) and entry.strip():
            out.append(entry.strip())
        elif isinstance(entry, int) and not isinstance(entry, bool):
            out.append(str(entry))
    return out


def _names(value: Any) -> list[str]:
    """A category path as a list of non-empty names."""
    if not isinstance(value, list):
        return []
    return [name for name in (_text(entry) for entry in value) if name]


def _merge(*lists: list[str]) -> list[str]:
    """Concatenate id lists, dropping repeats and keeping first positions."""
    return list(dict.fromkeys(entry for values in lists for entry in values))


def _require_id(record: dict[str, Any], key: str) -> str:
    item = record.get(key)
    if isinstance(item, int) and not isinstance(item, bool):
        item = str(item)
    if not isinstance(item, str) or not item.strip():
        raise _Rejected("missing_id")
    return item.strip()


def _record_2014(record: dict[str, Any]) -> dict[str, Any]:
    related = record.get("related")
    related = related if isinstance(related, dict) else {}
    paths = record.get("categories")
    # The first path is the product's main one; later paths add other names.
    names = _merge(*(_names(path) for path in paths)) if isinstance(paths, list) else []
    return {
        "item_id": _require_id(record, "asin"),
        "title": _text(record.get("title")),
        "brand": _text(record.get("brand")),
        "categories": names,
        "price": record.get("price"),
        "complements": _merge(
            _ids(related.get("bought_together")), _ids(related.get("also_bought"))
        ),
        "substitutes": _ids(related.get("also_viewed")),
    }


class _JSONFields(NamedTuple):
    """Where a JSON-lines release keeps each field (``None``: it has none)."""

    item_id: str
    brand: str
    categories: str
    main_category: str
    complements: str
    substitutes: str | None


#: The 2018 and the 2023 releases name the same fields differently.
_FIELDS_2018 = _JSONFields(
    "asin", "brand", "category", "main_cat", "also_buy", "also_view"
)
_FIELDS_2023 = _JSONFields(
    "parent_asin", "store", "categories", "main_category", "bought_together", None
)


def _json_reader(fields: _JSONFields) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A record reader for a JSON-lines release with these field names."""

    def read(record: dict[str, Any]) -> dict[str, Any]:
        names = _names(record.get(fields.categories))
        main = _text(record.get(fields.main_category))
        return {
            "item_id": _require_id(record, fields.item_id),
            "title": _text(record.get("title")),
            "brand": _text(record.get(fields.brand)),
            "categories": names or ([main] if main else []),
            "price": record.get("price"),
            "complements": _ids(record.get(fields.complements)),
            "substitutes": _ids(record.get(fields.substitutes))
            if fields.substitutes
            else [],
        }

    return read


def _literal(line: str) -> Any:
    return ast.literal_eval(line)


#: Per line-based format: how a line is decoded, and how a record is read.
_LINE_FORMATS: dict[str, tuple[Callable[[str], Any], Callable[[dict], dict]]] = {
    "amazon-2014": (_literal, _record_2014),
    "amazon-2018": (json.loads, _json_reader(_FIELDS_2018)),
    "amazon-2023": (json.loads, _json_reader(_FIELDS_2023)),
}
#: Every format :class:`ItemMetadataDataset` reads.
METADATA_FORMATS: tuple[str, ...] = (*_LINE_FORMATS, "grocery-tsv")


class _Collector:
    """Kept records, rejection counts and examples of one read."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.rejected: Counter[str] = Counter()
        self.invalid: Counter[str] = Counter()
        self.examples: list[dict[str, Any]] = []

    def reject(self, reason: str, line: int, text: str) -> None:
        self.rejected[reason] += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(example_entry(reason, line, text))

    def keep(self, row: dict[str, Any], line: int, text: str) -> None:
        if row["item_id"] in self.rows:
            self.reject("duplicate_id", line, text)
            return
        price, invalid = parse_price(row["price"])
        if invalid:
            self.invalid["price_not_number"] += 1
            if len(self.examples) < MAX_EXAMPLES:
                self.examples.append(example_entry("price_not_number", line, text))
        row["price"] = price
        self.rows[row["item_id"]] = row

    def frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(list(self.rows.values()), columns=list(METADATA_COLUMNS))
        frame["item_id"] = frame["item_id"].astype(object)
        frame["price"] = frame["price"].astype("float64")
        return frame


def _lines(chunks: Iterable[bytes], state: dict[str, int]) -> Iterator[bytes]:
    """Split decompressed chunks into lines.

    A last line without a newline is yielded too; ``state["unterminated"]`` is
    then its length in bytes (0 otherwise), so a cut stream's tail can be told
    apart from a bad line.
    """
    tail = b""
    state["unterminated"] = 0
    for chunk in chunks:
        parts = (tail + chunk).split(b"\n")
        tail = parts.pop()
        yield from parts
    if tail:
        state["unterminated"] = len(tail)
        yield tail


def parse_metadata_lines(
    chunks: Iterable[bytes],
    fmt: str,
    *,
    description: str = "item metadata",
    state: dict[str, int] | None = None,
) -> tuple[pd.DataFrame, Counter, Counter, list[dict[str, Any]]]:
    """Parse a line-based metadata source.

    Args:
        chunks: The decompressed bytes, in pieces of any size.
        fmt: ``"amazon-2014"``, ``"amazon-2018"`` or ``"amazon-2023"``.
        description: Name of the step in the progress output.
        state: Filled with ``unterminated`` (see :func:`_lines`), ``last_line``
            (its number) and ``tail_rejected`` (1 when that line was rejected).

    Returns:
        ``(frame, rejected, invalid, examples)``: the table, the rejected lines by
        reason, the values set to unknown by reason, and a few quoted examples.

    Raises:
        ValueError: If ``fmt`` is not a line-based format.
    """
    if fmt not in _LINE_FORMATS:
        raise ValueError(f"format must be one of {sorted(_LINE_FORMATS)}, got {fmt!r}")
    decode, read = _LINE_FORMATS[fmt]
    found = _Collector()
    state = {} if state is None else state
    with progress(description, None, unit="lines") as advance:
        for number, raw in enumerate(_lines(chunks, state), start=1):
            before = found.rejected.total()
            text = raw.decode("utf-8", errors="replace").strip()
            if number % 10_000 == 0:
                advance(10_000)
            if not text:
                continue
            try:
                record = decode(text)
                if not isinstance(record, dict):
                    raise _Rejected("unparsable_line")
                found.keep(read(record), number, text)
            except _Rejected as exc:
                found.reject(exc.args[0], number, text)
            except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
                found.reject("unparsable_line", number, text)
            state["tail_rejected"] = int(found.rejected.total() > before)
            state["last_line"] = number
    return found.frame(), found.rejected, found.invalid, found.examples


def _id_list(text: Any) -> list[str]:
    """A bracketed list of ids (``"[1, 2]"``) as text ids; raises on bad text."""
    if not isinstance(text, str) or not text.strip():
        return []
    values = json.loads(text)
    if not isinstance(values, list):
        raise _Rejected("unparsable_line")
    return _ids(values)


def parse_grocery_table(path: Path) -> tuple[pd.DataFrame, Counter, Counter, list]:
    """Parse the Grocery 5-core item table (see the module docstring).

    Args:
        path: The tab-separated file with a header line.

    Returns:
        As :func:`parse_metadata_lines`.

    Raises:
        DatasetError: If a required column is missing (the message names it).
    """
    table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    missing = {"item_id", "i_category"} - set(table.columns)
    if missing:
        raise DatasetError(
            f"{path}: missing column(s) {sorted(missing)}; the Grocery item table "
            f"needs item_id, i_category, r_complement, r_substitute (found {list(table.columns)})"
        )
    found = _Collector()
    for number, values in enumerate(table.to_dict("records"), start=2):
        text = "\t".join(values.values())
        try:
            category = values["i_category"].strip()
            row = {
                "item_id": _require_id(values, "item_id"),
                "title": None,
                "brand": None,
                "categories": [f"category {category}"] if category else [],
                "price": None,
                "complements": _id_list(values.get("r_complement")),
                "substitutes": _id_list(values.get("r_substitute")),
            }
        except _Rejected as exc:
            found.reject(exc.args[0], number, text)
            continue
        except ValueError:
            found.reject("unparsable_line", number, text)
            continue
        found.keep(row, number, text)
    return found.frame(), found.rejected, found.invalid, found.examples


def attach_report(  # one keyword per field of the report
    frame: pd.DataFrame,
    *,
    file: str,
    fmt: str,
    rejected: Counter,
    invalid: Counter,
    examples: list[dict[str, Any]],
    truncation: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Attach the reader report to ``frame`` (see the module docstring).

    Returns:
        ``frame``, with ``attrs["reader_report"]`` set.
    """
    frame.attrs[READER_REPORT_ATTR] = {
        "file": file,
        "format": fmt,
        "rows_read": len(frame),
        "rows_rejected": {
            reason: int(rejected.get(reason, 0)) for reason in REJECT_REASONS
        },
        "values_invalid": {
            reason: int(invalid.get(reason, 0)) for reason in INVALID_VALUE_REASONS
        },
        "examples": examples,
        "truncation": truncation,
    }
    if rejected or invalid:
        logger.warning(
            "%s: rejected %s, values set to unknown %s; e.g. %s",
            file,
            dict(rejected),
            dict(invalid),
            examples[:2],
        )
    return frame


class ItemMetadataDataset(AbstractDataset[pd.DataFrame, pd.DataFrame]):
    """Read-only Kedro dataset of a product metadata file in a real Amazon format.

    Example ``catalog.yml`` entry::

        source_item_metadata:
          type: ncf_recommender.metadata.readers.ItemMetadataDataset
          filepath: ${globals:data_root}/01_raw/meta_Electronics.json.gz
          format: amazon-2014
    """

    def __init__(
        self,
        *,
        filepath: str,
        format: str,  # noqa: A002 (the catalog key users write)
        compression: str | None = "infer",
        allow_truncated: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Configure the reader.

        Args:
            filepath: The local metadata file.
            format: One of :data:`METADATA_FORMATS`.
            compression: ``"infer"`` (gzip for ``.gz``), ``"gzip"`` or ``None``.
            allow_truncated: Keep the complete records of a cut gzip stream
                (reported) instead of refusing the file.
            metadata: Free-form metadata (e.g. the kedro-viz layer); unused.

        Raises:
            DatasetError: On an unknown format (the message lists the known ones).
        """
        if format not in METADATA_FORMATS:
            raise DatasetError(
                f"ItemMetadataDataset({filepath}): unknown format {format!r}; "
                f"choose one of {list(METADATA_FORMATS)}"
            )
        self._filepath = PurePosixPath(filepath)
        self._format = format
        self._compression = compression
        self._allow_truncated = allow_truncated
        self.metadata = metadata

    def load(self) -> pd.DataFrame:
        """Parse the file.

        Returns:
            The ``item_metadata`` table with its reader report in ``attrs``.

        Raises:
            DatasetError: If the file is missing, not valid gzip, or truncated
                without ``allow_truncated``.
        """
        path = Path(str(self._filepath))
        if not path.is_file():
            raise DatasetError(f"item metadata file {path} does not exist")
        if self._format == "grocery-tsv":
            parsed = parse_grocery_table(path)
            return attach_report(
                parsed[0],
                file=str(path),
                fmt=self._format,
                rejected=parsed[1],
                invalid=parsed[2],
                examples=parsed[3],
            )
        chunks, status = open_stream(path, compression_of(path, self._compression))
        state: dict[str, int] = {}
        frame, rejected, invalid, examples = parse_metadata_lines(
            chunks, self._format, description=f"reading {path.name}", state=state
        )
        truncation = None
        if status["truncated"]:
            tail = state.get("unterminated", 0)
            if tail and state.get("tail_rejected"):
                # the unfinished last record of a cut download, not a bad line
                rejected["unparsable_line"] -= 1
                examples = [e for e in examples if e["line"] != state["last_line"]]
                rejected += Counter()  # drops a count that fell to zero
            truncation = {
                "compressed_bytes": status["compressed_bytes"],
                "decompressed_bytes": status["decompressed_bytes"],
                "complete_records": len(frame) + rejected.total(),
                "incomplete_tail_bytes": tail,
            }
            message = truncation_message(str(path), truncation)
            if not self._allow_truncated:
                raise TruncatedSourceError(
                    message + ": download it again, or accept the complete records "
                    "with allow_truncated: true on this catalog entry."
                )
            logger.warning("%s; keeping the complete records only.", message)
        return attach_report(
            frame,
            file=str(path),
            fmt=self._format,
            rejected=rejected,
            invalid=invalid,
            examples=examples,
            truncation=truncation,
        )

    def save(self, data: pd.DataFrame) -> None:
        """Refuse: a source file is read-only.

        Raises:
            DatasetError: Always.
        """
        raise DatasetError(
            f"ItemMetadataDataset is read-only: it reads {self._filepath}; "
            "save to another dataset instead."
        )

    def _exists(self) -> bool:
        return Path(str(self._filepath)).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "format": self._format}
