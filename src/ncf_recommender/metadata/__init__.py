"""Product metadata: readers for the real Amazon formats, the generator's metadata,
the metadata report and item features."""
