"""Pure writers, one module per format: no Django imports, rows consumed lazily from an iterator.

Every writer takes a list of `Column` specs and an iterable of row sequences (raw codes), so the same rows
can be written in any format; value labels travel with the columns.
"""

from registry.exports.writers.columns import Column, Table, label_of

__all__ = ["Column", "Table", "label_of"]
