"""A Spark twin of :class:`ncf_recommender.readers.DelimitedRatingsDataset`.

:class:`SparkDelimitedRatingsDataset` reads a delimited ratings file with Spark's
text source (one row a line; ``.gz`` is decompressed by Spark; ``\\n``, ``\\r\\n``
and ``\\r`` end a line) and splits every line in Spark with the pandas reader's
rules, so that a bad row is counted, never silently nulled or cut:

- the number of fields is counted outside quoted fields; a row with another
  count than the header's (or ``column_names``) is rejected as
  ``wrong_field_count``, or as ``trailing_separator`` when the one extra field is
  an empty one after a final separator;
- a separator at the end of the *first* line (a format that ends every line
  with one) adds an ignored empty column;
- blank lines are skipped, a UTF-8 byte-order mark is ignored, and with
  ``header: true`` the first line names the columns.

Rejected rows are not dropped here: they come back with their reason in
:data:`READER_REASON` (null for a data row) and their text in
:data:`READER_TEXT`, so that ``spark_validate_schema`` counts them with the
rest of the report. The file and the format travel in the metadata of the
:data:`READER_REASON` column. Each row carries its file position in
:data:`~ncf_recommender.spark.nodes.SOURCE_ROW`
(``monotonically_increasing_id()`` on the scan: increasing in file order).

Not mirrored: a gzip stream cut short makes Spark's decompressor fail the
read (Hadoop's ``EOFException``) instead of the pandas reader's
:class:`~ncf_recommender.readers.TruncatedSourceError`; quoted fields are
split by Spark's CSV parser (``from_csv``), which may differ from pyarrow's on
malformed quoting.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from kedro.io import AbstractDataset, DatasetError
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F  # F: the PySpark convention

from ncf_recommender.readers import TRAILING_FIELD, field_names

#: The explicit source row number (the same name as ``spark.nodes.SOURCE_ROW``).
SOURCE_ROW = "source_row"
#: Column with the reader's rejection reason of a row (null: a data row).
READER_REASON = "_reader_reason"
#: Column with a row's line text (for the report's examples).
READER_TEXT = "_reader_text"
#: Name of the empty column after a separator that ends every line (as pandas).
_TRAILING = TRAILING_FIELD
_LINE = "value"


def _literal(text: str) -> str:
    """A Java regex matching ``text`` literally."""
    return "\\Q" + text + "\\E"


class SparkDelimitedRatingsDataset(AbstractDataset[DataFrame, DataFrame]):
    """A delimited interactions file read by Spark, every field as text.

    ``load()`` returns the kept columns as strings plus :data:`SOURCE_ROW`,
    :data:`READER_REASON` and :data:`READER_TEXT` (see the module docstring).
    """

    def __init__(  # the pandas reader's arguments
        self,
        *,
        filepath: str,
        sep: str = ",",
        header: bool = True,
        column_names: list[str] | None = None,
        columns: list[str] | None = None,
        quote_char: str | bool = '"',
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Configure the reader, with the arguments of ``DelimitedRatingsDataset``.

        Args:
            filepath: Path or URL Spark can read (``.gz`` is decompressed).
            sep: Field separator (one character; ``"\\t"`` for TSV).
            header: Whether the first line names the columns.
            column_names: Names of all fields of a header-less file, in order.
            columns: The columns to keep (default: all).
            quote_char: Quote character, or ``false`` for none.
            metadata: Free-form metadata (kedro-viz layer, how to get the file).

        Raises:
            DatasetError: If the arguments contradict each other.
        """
        if len(sep) != 1:
            raise DatasetError(f"sep must be one character, got {sep!r}")
        if header == (column_names is not None):
            raise DatasetError(
                "SparkDelimitedRatingsDataset: give column_names for a header-less "
                "file (header: false), and only then"
            )
        if quote_char is True or (isinstance(quote_char, str) and len(quote_char) != 1):
            raise DatasetError(
                f"quote_char must be one character or false, got {quote_char!r}"
            )
        self._filepath = PurePosixPath(filepath)
        self._sep = sep
        self._header = header
        self._column_names = list(column_names) if column_names else None
        self._columns = list(columns) if columns else None
        self._quote = quote_char or None
        self.metadata = metadata

    def _fields(self, line: Column) -> tuple[Column, Column]:
        """The fields of ``line`` (array of text) and how many there are."""
        sep = _literal(self._sep)
        if self._quote is None:
            fields = F.split(line, sep, -1)
            return fields, F.size(fields)
        quote = _literal(self._quote)
        # a quoted field (doubled quotes inside) holds no separator
        unquoted = F.regexp_replace(
            line, f"{quote}(?:[^{quote}]|{quote}{quote})*{quote}", ""
        )
        fields = F.split(line, sep, -1)
        count = F.when(
            line.contains(self._quote), F.size(F.split(unquoted, sep, -1))
        ).otherwise(F.size(fields))
        return fields, count

    def _names(self, first: str) -> list[str]:
        """All field names, plus a placeholder when the first line ends with ``sep``."""
        return field_names(
            first.removeprefix("\ufeff"),
            sep=self._sep,
            header=self._header,
            column_names=self._column_names,
        )

    def load(self) -> DataFrame:
        """Read the file lazily (one small job reads its first line).

        Returns:
            The kept columns as text, :data:`SOURCE_ROW`, :data:`READER_REASON`
            and :data:`READER_TEXT`.

        Raises:
            DatasetError: If the header lacks a requested column.
        """
        spark = SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
        lines = spark.read.text(str(self._filepath)).select(
            F.when(
                F.col(_LINE).startswith("\ufeff"), F.substring(F.col(_LINE), 2, 1 << 30)
            )
            .otherwise(F.col(_LINE))
            .alias(_LINE),
            F.monotonically_increasing_id().alias(SOURCE_ROW),
        )
        # a limit reads the partitions in order: the file's first non-blank line
        head = lines.where(F.col(_LINE) != "").head(1)
        first = head[0][_LINE] if head else ""
        names = self._names(first)
        keep = self._columns or [name for name in names if name != _TRAILING]
        absent = [name for name in keep if name not in names]
        if absent:
            raise DatasetError(
                f"{self._filepath} has no column(s) {absent}; its columns are "
                f"{[name for name in names if name != _TRAILING]}"
            )
        rows = lines.where(F.col(_LINE) != "")
        if self._header and head:
            rows = rows.where(F.col(SOURCE_ROW) != head[0][SOURCE_ROW])
        line = F.col(_LINE)
        fields, count = self._fields(line)
        expected = len(names)
        reason = (
            F.when(count == expected, F.lit(None).cast("string"))
            .when(
                (count == expected + 1) & line.endswith(self._sep),
                F.lit("trailing_separator"),
            )
            .otherwise(F.lit("wrong_field_count"))
        )
        if self._quote is None:
            values = {name: fields.getItem(names.index(name)) for name in keep}
        else:
            schema = ", ".join(f"`_f{k}` STRING" for k in range(expected))
            parsed = F.from_csv(
                line,
                schema,
                {
                    "sep": self._sep,
                    "quote": self._quote,
                    "escape": self._quote,
                    "mode": "PERMISSIVE",
                },
            )
            has_quote = line.contains(self._quote)
            values = {
                name: F.when(
                    has_quote, F.coalesce(parsed[f"_f{names.index(name)}"], F.lit(""))
                ).otherwise(fields.getItem(names.index(name)))
                for name in keep
            }
        about = {"file": str(self._filepath), "format": "delimited"}
        return rows.select(
            *[
                F.when(reason.isNull(), value).alias(name)
                for name, value in values.items()
            ],
            F.col(SOURCE_ROW),
            reason.alias(READER_REASON, metadata={"reader": about}),
            line.alias(READER_TEXT),
        )

    def save(self, data: DataFrame) -> None:
        """Refuse: a source file is read-only.

        Raises:
            DatasetError: Always.
        """
        raise DatasetError(
            f"{type(self).__name__} is read-only: it reads the source file "
            f"{self._filepath}; save to another dataset instead."
        )

    def _exists(self) -> bool:
        spark = SparkSession.getActiveSession()
        if spark is None:
            return False
        try:  # Hadoop's file system API: the path as Spark will read it
            path = spark._jvm.org.apache.hadoop.fs.Path(str(self._filepath))
            found = path.getFileSystem(spark._jsc.hadoopConfiguration()).globStatus(
                path
            )
        except Exception:  # an unreadable path is not there
            return False
        return found is not None and len(found) > 0

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": str(self._filepath),
            "sep": self._sep,
            "header": self._header,
            "column_names": self._column_names,
            "columns": self._columns,
        }
