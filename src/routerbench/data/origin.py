"""Where each row of a loaded table came from: its file and its row in that file.

Readers reorder, concatenate and pivot rows; an error must still name the row a person
can find in the file (1-based, the header not counted) and, for a folder, the member file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RowOrigin:
    """Per row of a frame: the index of its file in `files` and its 1-based row there.

    Row ``r`` of a file is its ``r``-th record after the header (in a CSV without
    quoted line breaks or blank lines, line ``r + 1``).
    """

    files: tuple[str, ...]
    file_index: np.ndarray
    file_row: np.ndarray

    @classmethod
    def of_file(cls, source: str, n_rows: int) -> RowOrigin:
        """Rows 1..n of one file."""
        return cls((str(source),), np.zeros(n_rows, dtype=np.intp), np.arange(1, n_rows + 1))

    @classmethod
    def concat(cls, parts: Sequence[RowOrigin]) -> RowOrigin:
        """The origin of frames stacked in this order (files keep their own numbering)."""
        files: list[str] = []
        index, rows = [], []
        for part in parts:
            index.append(part.file_index + len(files))
            rows.append(part.file_row)
            files.extend(part.files)
        if not parts:
            return cls((), np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp))
        return cls(tuple(files), np.concatenate(index), np.concatenate(rows))

    def take(self, positions: np.ndarray) -> RowOrigin:
        """The origin after selecting or reordering rows by `positions`."""
        pos = np.asarray(positions, dtype=np.intp)
        return RowOrigin(self.files, self.file_index[pos], self.file_row[pos])

    def source(self, pos: int) -> str:
        """The file that row `pos` (of the frame) came from."""
        return self.files[int(self.file_index[int(pos)])]

    def row(self, pos: int, sample_id: object = None) -> str:
        """The 1-based row in its file of frame row `pos`, with its sample_id when known."""
        r = int(self.file_row[int(pos)])
        return f"{r} (sample_id {sample_id!r})" if sample_id is not None else str(r)

    def where(self, pos: int, sample_id: object = None) -> dict[str, str]:
        """``source`` and ``row`` keywords for a `DataError` about frame row `pos`."""
        return {"source": self.source(pos), "row": self.row(pos, sample_id)}
