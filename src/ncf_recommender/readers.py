"""Kedro datasets that read real rating files and count, instead of crash on, bad rows.

Two readers cover every source format the project reads:

- :class:`DelimitedRatingsDataset`: any delimited text file (CSV, TSV; with or without a
  header; optionally gzipped), read by ``pyarrow.csv`` with every field as text. Rows with
  the wrong number of fields are skipped and counted by pyarrow's ``invalid_row_handler``;
  a separator at the end of every line is recognised from the first line and ignored.
- :class:`JSONLinesRatingsDataset`: JSON lines (optionally gzipped), one object a line,
  keeping only the named fields. Blocks are parsed by ``pyarrow.json``; a block that pyarrow
  refuses (a line that is not a JSON object, a value of an unexpected type) is parsed line
  by line with :mod:`json` so that only the bad lines are lost, and counted.

Both return every kept field as text (empty or null where absent); the ``validate_schema``
node parses and counts the values. What the reader rejected travels with the frame in
``frame.attrs["reader_report"]`` (see :func:`reader_report`), which Kedro hands unchanged
to the node that consumes the dataset.

A gzip file whose stream ends before its end-of-stream marker (a download cut short) is
never read as if it were complete: by default :class:`TruncatedSourceError` names the file
and where the stream broke; with ``allow_truncated=True`` the complete records are kept,
the cut is recorded in the reader report and logged as a warning.

Example ``catalog.yml`` entries::

    source_ratings:                      # header-less CSV (Amazon 2014 ratings)
      type: ncf_recommender.readers.DelimitedRatingsDataset
      filepath: ${globals:data_root}/01_raw/ratings_Electronics.csv
      header: false
      column_names: [user, item, rating, timestamp]

    source_ratings:                      # JSON lines, gzipped (Amazon 2014/2018 reviews)
      type: ncf_recommender.readers.JSONLinesRatingsDataset
      filepath: ${globals:data_root}/01_raw/reviews_Electronics_5.json.gz
      fields: [reviewerID, asin, overall, unixReviewTime]
"""

from __future__ import annotations

import io
import json
import logging
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
from kedro.io import AbstractDataset, DatasetError

from ncf_recommender.progress import progress

logger = logging.getLogger(__name__)

#: Key of ``DataFrame.attrs`` under which a reader leaves its report.
READER_REPORT_ATTR = "reader_report"
#: How many rejected lines a report quotes, as examples.
MAX_EXAMPLES = 5
#: Longest quoted example line.
MAX_EXAMPLE_CHARS = 200
#: Decompressed bytes read at once from a gzip stream, and parsed at once as JSON.
_CHUNK_BYTES = 64 << 20
#: Compressed bytes read at once from a gzip file.
_COMPRESSED_CHUNK_BYTES = 4 << 20


class TruncatedSourceError(DatasetError):
    """A compressed source ends before its end-of-stream marker (a cut download)."""


def reader_report(frame: pd.DataFrame) -> dict[str, Any]:
    """The reader report a dataset of this module attached to ``frame``.

    Args:
        frame: A loaded source frame.

    Returns:
        ``{"file", "format", "rows_read", "rows_rejected": {reason: n}, "examples",
        "truncation"}``; an empty report (nothing rejected, no truncation) for a
        frame that did not come from these readers.
    """
    found = frame.attrs.get(READER_REPORT_ATTR)
    if found is None:
        return {
            "file": None,
            "format": None,
            "rows_read": len(frame),
            "rows_rejected": {},
            "examples": [],
            "truncation": None,
        }
    return found


def truncation_message(path: str, truncation: dict[str, Any]) -> str:
    """Say where a gzip stream broke, for errors and warnings.

    Args:
        path: The file.
        truncation: The ``truncation`` entry of a reader report.

    Returns:
        One sentence naming the file, the complete records and the byte offsets.
    """
    return (
        f"{path} is truncated: its gzip stream ends without an end-of-stream marker "
        f"at compressed byte {truncation['compressed_bytes']:,} (the end of the file), "
        f"after {truncation['decompressed_bytes']:,} decompressed bytes and "
        f"{truncation['complete_records']:,} complete records; the "
        f"{truncation['incomplete_tail_bytes']:,} bytes after the last complete "
        "record are an unfinished record. The download was probably cut short"
    )


def _open_stream(path: Path, compression: str | None) -> tuple[Iterator[bytes], dict]:
    """Yield decompressed chunks of ``path`` and fill a status dict as it goes.

    The status gets ``truncated`` (bool), ``compressed_bytes`` and
    ``decompressed_bytes`` once the iterator is exhausted.

    Raises:
        DatasetError: If the gzip data is corrupt (not merely cut short).
    """
    status: dict[str, Any] = {"truncated": False}
    # Progress in megabytes of the file on disk (compressed bytes for gzip).
    size_mb = path.stat().st_size / 1e6
    reading = f"reading {path.name}"
    if compression is None:

        def plain() -> Iterator[bytes]:
            with (
                path.open("rb") as handle,
                progress(reading, size_mb, unit="MB") as advance,
            ):
                total = 0
                while chunk := handle.read(_CHUNK_BYTES):
                    total += len(chunk)
                    advance(len(chunk) / 1e6)
                    yield chunk
            status.update(compressed_bytes=total, decompressed_bytes=total)

        return plain(), status

    def unzipped() -> Iterator[bytes]:
        # zlib directly (not gzip.GzipFile): on a cut stream GzipFile raises
        # EOFError and loses what it had decompressed in that read.
        total = 0
        compressed = 0
        member = zlib.decompressobj(wbits=31)
        with path.open("rb") as raw, progress(reading, size_mb, unit="MB") as advance:
            while block := raw.read(_COMPRESSED_CHUNK_BYTES):
                advance(len(block) / 1e6)
                while block:
                    try:
                        chunk = member.decompress(block)
                    except zlib.error as exc:
                        raise DatasetError(
                            f"{path} is not a valid gzip stream near compressed byte "
                            f"{compressed:,} (after {total:,} decompressed bytes): "
                            f"{exc}"
                        ) from exc
                    compressed += len(block) - len(member.unused_data)
                    total += len(chunk)
                    if chunk:
                        yield chunk
                    # a file of several gzip members: start the next one
                    block = member.unused_data if member.eof else b""
                    if member.eof and block:
                        member = zlib.decompressobj(wbits=31)
            chunk = member.flush()
            total += len(chunk)
            if chunk:
                yield chunk
        status.update(
            truncated=not member.eof,
            compressed_bytes=compressed,
            decompressed_bytes=total,
        )

    return unzipped(), status


def _compression(path: Path, compression: str | None) -> str | None:
    if compression == "infer":
        return "gzip" if path.suffix == ".gz" else None
    if compression not in (None, "gzip"):
        raise DatasetError(
            f"compression must be 'infer', 'gzip' or null, got {compression!r}"
        )
    return compression


class _RatingsFileDataset(AbstractDataset[pd.DataFrame, pd.DataFrame]):
    """Shared plumbing: a read-only local file, gzip handling, the truncation rule."""

    _FORMAT = "file"

    def __init__(
        self,
        *,
        filepath: str,
        compression: str | None = "infer",
        allow_truncated: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._filepath = PurePosixPath(filepath)
        self._compression = compression
        self._allow_truncated = allow_truncated
        self.metadata = metadata

    @property
    def _path(self) -> Path:
        return Path(str(self._filepath))

    def _check_truncation(self, truncation: dict[str, Any]) -> dict[str, Any]:
        message = truncation_message(str(self._filepath), truncation)
        if not self._allow_truncated:
            raise TruncatedSourceError(
                message + ": download it again, or accept the complete records with "
                "allow_truncated: true on this catalog entry."
            )
        logger.warning("%s; keeping the complete records only.", message)
        return truncation

    def _report(
        self,
        frame: pd.DataFrame,
        rejected: Counter,
        examples: list[dict[str, Any]],
        truncation: dict[str, Any] | None,
    ) -> pd.DataFrame:
        frame.attrs[READER_REPORT_ATTR] = {
            "file": str(self._filepath),
            "format": self._FORMAT,
            "rows_read": len(frame),
            "rows_rejected": dict(sorted(rejected.items())),
            "examples": examples,
            "truncation": truncation,
        }
        if rejected:
            logger.warning(
                "%s: rejected %s; e.g. %s",
                self._filepath,
                dict(rejected),
                examples[:2],
            )
        return frame

    def save(self, data: pd.DataFrame) -> None:
        """Refuse: a source file is read-only.

        Raises:
            DatasetError: Always.
        """
        raise DatasetError(
            f"{type(self).__name__} is read-only: it reads the source file "
            f"{self._filepath}; save to another dataset instead."
        )

    def _exists(self) -> bool:
        return self._path.is_file()


def _example(reason: str, line: int | None, text: str) -> dict[str, Any]:
    return {"reason": reason, "line": line, "text": text[:MAX_EXAMPLE_CHARS]}


def field_names(
    first_line: str, *, sep: str, header: bool, column_names: list[str] | None
) -> list[str]:
    """A delimited file's field names, from its first line (decoded, no line end).

    A file whose first line ends with ``sep`` gets a last placeholder field
    (``_TRAILING``): such a separator is part of the format, not a bad row. The
    Spark reader uses the same rule.

    Args:
        first_line: The file's first line, without byte-order mark or line end.
        sep: Field separator.
        header: Whether the first line holds the names.
        column_names: The names of a header-less file.

    Returns:
        The names, the placeholder included where it applies.
    """
    if header:
        names = [name.strip().strip('"') for name in first_line.split(sep)]
        if len(names) > 1 and names[-1] == "":
            names[-1] = _TRAILING
        return names
    names = list(column_names or [])
    fields = first_line.split(sep)
    if len(fields) == len(names) + 1 and fields[-1] == "":
        names.append(_TRAILING)
    return names


class DelimitedRatingsDataset(_RatingsFileDataset):
    """A delimited interactions file (CSV, TSV, ...), every field read as text.

    ``load()`` returns the columns named in ``columns`` (or every column), as
    strings: empty fields stay empty strings. Rows whose number of fields differs
    from the header's (or from ``column_names``) are skipped and counted as
    ``wrong_field_count``, or as ``trailing_separator`` when the only extra field
    is an empty one after a final separator. A separator at the end of *every*
    line (seen on the first line) is part of the format and is ignored. CRLF line
    endings and blank lines are accepted. A header line inside a header-less file
    is passed on; ``validate_schema`` recognises and counts it.
    """

    _FORMAT = "delimited"

    def __init__(
        self,
        *,
        filepath: str,
        sep: str = ",",
        header: bool = True,
        column_names: list[str] | None = None,
        columns: list[str] | None = None,
        quote_char: str | bool = '"',
        compression: str | None = "infer",
        allow_truncated: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Configure the reader.

        Args:
            filepath: Local path of the file (``.gz`` is decompressed); a
                UTF-8 byte-order mark is ignored.
            sep: Field separator (one character; ``"\\t"`` for TSV).
            header: Whether the first line names the columns.
            column_names: Names of all fields of a header-less file, in order.
            columns: The columns to keep (default: all).
            quote_char: Quote character, or ``false`` for none.
            compression: ``infer`` (gzip for ``.gz``), ``gzip`` or ``null``.
            allow_truncated: Keep the complete lines of a cut gzip instead of
                raising :class:`TruncatedSourceError`.
            metadata: Free-form metadata (kedro-viz layer, how to get the file).

        Raises:
            DatasetError: If the arguments contradict each other.
        """
        super().__init__(
            filepath=filepath,
            compression=compression,
            allow_truncated=allow_truncated,
            metadata=metadata,
        )
        if len(sep) != 1:
            raise DatasetError(f"sep must be one character, got {sep!r}")
        if header == (column_names is not None):
            raise DatasetError(
                "DelimitedRatingsDataset: give column_names for a header-less file "
                "(header: false), and only then"
            )
        self._sep = sep
        self._header = header
        self._column_names = list(column_names) if column_names else None
        self._columns = list(columns) if columns else None
        self._quote_char = quote_char

    def load(self) -> pd.DataFrame:
        """Read the file.

        Returns:
            The kept columns as strings, with the reader report in ``attrs``.

        Raises:
            TruncatedSourceError: If a gzip stream is cut and that is not allowed.
            DatasetError: If the header lacks a requested column, or the file
                cannot be parsed at all.
        """
        compression = _compression(self._path, self._compression)
        if compression is None:
            source: Any = str(self._path)
            truncation = None
            first = self._first_line()
        else:
            data, truncation = self._read_gzip()
            source = pa.BufferReader(data)
            first = data.split(b"\n", 1)[0]
        names = self._names(first)
        keep = self._columns or [name for name in names if name != _TRAILING]
        absent = [name for name in keep if name not in names]
        if absent:
            raise DatasetError(
                f"{self._filepath} has no column(s) {absent}; its columns are "
                f"{[name for name in names if name != _TRAILING]}"
            )
        rejected: Counter = Counter()
        examples: list[dict[str, Any]] = []
        expected = len(names)

        def on_invalid(row: pa_csv.InvalidRow) -> str:
            text = row.text.rstrip("\r\n")
            reason = (
                "trailing_separator"
                if row.actual_columns == expected + 1 and text.endswith(self._sep)
                else "wrong_field_count"
            )
            rejected[reason] += 1
            if len(examples) < MAX_EXAMPLES:
                examples.append(_example(reason, row.number, text))
            return "skip"

        try:
            table = pa_csv.read_csv(
                source,
                read_options=pa_csv.ReadOptions(
                    column_names=names,
                    skip_rows=1 if self._header else 0,
                ),
                parse_options=pa_csv.ParseOptions(
                    delimiter=self._sep,
                    quote_char=self._quote_char,
                    invalid_row_handler=on_invalid,
                ),
                convert_options=pa_csv.ConvertOptions(
                    column_types={name: pa.string() for name in names},
                    include_columns=keep,
                ),
            )
        except (pa.ArrowInvalid, OSError) as exc:
            raise DatasetError(f"Cannot parse {self._filepath}: {exc}") from exc
        return self._report(table.to_pandas(), rejected, examples, truncation)

    def _read_gzip(self) -> tuple[bytes, dict[str, Any] | None]:
        """The decompressed file, cut after its last complete line if truncated."""
        chunks, status = _open_stream(self._path, "gzip")
        data = b"".join(chunks)
        if not status["truncated"]:
            return data, None
        complete = data[: data.rfind(b"\n") + 1]
        lines = sum(1 for line in complete.splitlines() if line.strip())
        truncation = {
            "compressed_bytes": status["compressed_bytes"],
            "decompressed_bytes": status["decompressed_bytes"],
            "complete_records": max(lines - int(self._header), 0),
            "incomplete_tail_bytes": len(data) - len(complete),
        }
        return complete, self._check_truncation(truncation)

    def _first_line(self) -> bytes:
        with self._path.open("rb") as handle:
            return handle.readline()

    def _names(self, first: bytes) -> list[str]:
        """All field names, plus a placeholder when every line ends with ``sep``."""
        line = first.decode("utf-8-sig", errors="replace").rstrip("\r\n")
        return field_names(
            line, sep=self._sep, header=self._header, column_names=self._column_names
        )

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": str(self._filepath),
            "sep": self._sep,
            "header": self._header,
            "column_names": self._column_names,
            "columns": self._columns,
            "allow_truncated": self._allow_truncated,
        }


#: Name of the empty column after a separator that ends every line.
#: Name of the placeholder field after a separator that ends every line.
TRAILING_FIELD = "__trailing_separator__"
_TRAILING = TRAILING_FIELD


class JSONLinesRatingsDataset(_RatingsFileDataset):
    """JSON lines (one object a line, optionally gzipped), keeping only ``fields``.

    ``load()`` returns one string column per field (null where the record lacks
    it). A line that is not a JSON object is skipped and counted as
    ``malformed_json``; blank lines are ignored.
    """

    _FORMAT = "json_lines"

    def __init__(
        self,
        *,
        filepath: str,
        fields: list[str],
        compression: str | None = "infer",
        allow_truncated: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Configure the reader.

        Args:
            filepath: Local path of the file (``.gz`` is decompressed).
            fields: The keys to keep from each record.
            compression: ``infer`` (gzip for ``.gz``), ``gzip`` or ``null``.
            allow_truncated: Keep the complete records of a cut gzip instead of
                raising :class:`TruncatedSourceError`.
            metadata: Free-form metadata (kedro-viz layer, how to get the file).

        Raises:
            DatasetError: If ``fields`` is empty.
        """
        super().__init__(
            filepath=filepath,
            compression=compression,
            allow_truncated=allow_truncated,
            metadata=metadata,
        )
        if not fields:
            raise DatasetError("JSONLinesRatingsDataset needs at least one field")
        self._fields = list(fields)

    def load(self) -> pd.DataFrame:
        """Read the file block by block.

        Returns:
            The fields as strings, with the reader report in ``attrs``.

        Raises:
            TruncatedSourceError: If a gzip stream is cut and that is not allowed.
            DatasetError: If no record has one of the fields (a misspelt name).
        """
        chunks, status = _open_stream(
            self._path, _compression(self._path, self._compression)
        )
        rejected: Counter = Counter()
        examples: list[dict[str, Any]] = []
        tables: list[pa.Table] = []
        carry = b""
        lines_before = 0
        seen_keys: set[str] = set()
        for chunk in chunks:
            block = carry + chunk
            end = block.rfind(b"\n") + 1
            carry = block[end:]
            if end:
                tables.append(
                    self._parse_block(
                        block[:end], lines_before, rejected, examples, seen_keys
                    )
                )
                lines_before += block.count(b"\n", 0, end)
        truncation = None
        if status["truncated"]:
            tail = len(carry)
            truncation = self._check_truncation(
                {
                    "compressed_bytes": status["compressed_bytes"],
                    "decompressed_bytes": status["decompressed_bytes"],
                    "complete_records": sum(table.num_rows for table in tables)
                    + sum(rejected.values()),
                    "incomplete_tail_bytes": tail,
                }
            )
        elif carry.strip():  # a last line without its newline
            tables.append(
                self._parse_block(
                    carry + b"\n", lines_before, rejected, examples, seen_keys
                )
            )
        table = (
            pa.concat_tables(tables)
            if tables
            else pa.table({field: pa.array([], pa.string()) for field in self._fields})
        )
        never = [
            field
            for field in self._fields
            if table.num_rows and table[field].null_count == table.num_rows
        ]
        if never:
            raise DatasetError(
                f"No record of {self._filepath} has the field(s) {never}; "
                f"the records have {sorted(seen_keys)}"
            )
        return self._report(table.to_pandas(), rejected, examples, truncation)

    def _schema(self, block: bytes) -> pa.Schema:
        """Types from the first record: pyarrow's JSON reader wants one type a field."""
        first = json.loads(block.split(b"\n", 1)[0])
        if not isinstance(first, dict):
            raise ValueError("the first line is not a JSON object")
        return pa.schema(
            [(field, _arrow_type(first.get(field))) for field in self._fields]
        )

    def _parse_block(
        self,
        block: bytes,
        lines_before: int,
        rejected: Counter,
        examples: list[dict[str, Any]],
        seen_keys: set[str],
    ) -> pa.Table:
        """Parse complete lines; fall back to line-by-line if pyarrow refuses."""
        try:
            table = pa_json.read_json(
                io.BytesIO(block),
                read_options=pa_json.ReadOptions(block_size=1 << 24),
                parse_options=pa_json.ParseOptions(
                    explicit_schema=self._schema(block),
                    unexpected_field_behavior="ignore",
                ),
            )
            if not seen_keys:
                seen_keys.update(json.loads(block.split(b"\n", 1)[0]))
            return self._as_strings(table)
        except (pa.ArrowInvalid, ValueError, TypeError):
            pass
        columns: dict[str, list[str | None]] = {field: [] for field in self._fields}
        for number, line in enumerate(block.split(b"\n")[:-1], lines_before + 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            if not isinstance(record, dict):
                rejected["malformed_json"] += 1
                if len(examples) < MAX_EXAMPLES:
                    examples.append(
                        _example(
                            "malformed_json",
                            number,
                            line.decode("utf-8", errors="replace"),
                        )
                    )
                continue
            seen_keys.update(record)
            for field in self._fields:
                value = record.get(field)
                columns[field].append(None if value is None else str(value))
        return pa.table(
            {field: pa.array(values, pa.string()) for field, values in columns.items()}
        )

    def _as_strings(self, table: pa.Table) -> pa.Table:
        return pa.table(
            {
                field: table[field]
                if table[field].type == pa.string()
                else pc.cast(table[field], pa.string())
                for field in self._fields
            }
        )

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": str(self._filepath),
            "fields": self._fields,
            "allow_truncated": self._allow_truncated,
        }


def _arrow_type(value: Any) -> pa.DataType:
    """The Arrow type pyarrow's JSON reader gives ``value``'s JSON type."""
    if isinstance(value, bool):
        return pa.bool_()
    if isinstance(value, int):
        return pa.int64()
    if isinstance(value, float):
        return pa.float64()
    return pa.string()


#: Shared with the metadata readers (:mod:`ncf_recommender.metadata.readers`):
#: the same gzip handling, truncation rule and report examples.
open_stream = _open_stream
compression_of = _compression
example_entry = _example
