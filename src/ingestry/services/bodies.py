"""An Input over a request body held in memory: one JSON payload, a JSON array,
JSON Lines, or CSV, framed exactly like a file of that kind (exact bytes per payload).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from enum import Enum

from ingestry.domain.errors import InputError
from ingestry.domain.sources import DataSource, SourceFormat
from ingestry.extract.csvframes import CSVFrames, framed_csv
from ingestry.extract.framing import Frame, JSONFrameError, json_frames, jsonl_frames
from ingestry.extract.jsonpage import exact_items
from ingestry.services.inputs import Input, ReadOptions, UnframeableError
from ingestry.services.payloads import PayloadInput


class BodyFormat(Enum):
    JSON = "json"  # one value, or an array of payloads (GeoJSON: a FeatureCollection)
    JSONL = "jsonl"
    CSV = "csv"


JSONL_TYPES = frozenset(
    {
        "application/x-ndjson",
        "application/ndjson",
        "application/jsonl",
        "application/jsonlines",
        "application/x-jsonlines",
        "application/json-lines",
    }
)
JSON_TYPES = frozenset({"application/json", "application/geo+json"})
CSV_TYPES = frozenset({"text/csv"})


class UnsupportedBodyError(InputError):
    """A body whose media type the source cannot take."""


def body_format(content_type: str | None, source: DataSource) -> BodyFormat:
    """The framing of a body from its media type; CSV sources take CSV, others JSON."""
    media = (content_type or "application/json").split(";", 1)[0].strip().lower()
    if source.format is SourceFormat.CSV:
        if media in CSV_TYPES:
            return BodyFormat.CSV
        raise UnsupportedBodyError(
            f"source '{source.name}' takes CSV (text/csv with a header row), not {media}"
        )
    if media in JSONL_TYPES:
        return BodyFormat.JSONL
    if media in JSON_TYPES or media.endswith("+json"):
        return BodyFormat.JSON
    raise UnsupportedBodyError(
        f"source '{source.name}' takes application/json (one payload or an array) or "
        f"application/x-ndjson (JSON Lines), not {media}"
    )


class BodyInput:
    """Frames of a request body. `size` stays None: bodies are prepared inline (no
    worker processes forked from a threaded server)."""

    size: int | None = None

    def __init__(
        self,
        body: bytes,
        fmt: BodyFormat,
        source: DataSource,
        name: str,
        numbered: bool = False,
        parsed: bool = False,
    ) -> None:
        self.name = name
        self.body = body
        self.format = fmt
        self.source = source
        #: a JSON body's items take their position as their line (a harvested page:
        #: docs/harvest.md), not the text line they start on (all 1 in compact JSON)
        self.numbered = numbered
        #: a JSON array's objects handed on parsed (`jsonpage.exact_items`): only for a
        #: body prepared where it is framed, once (the extractor takes its columns out
        #: of the object: a second preparation of the same frames would miss them)
        self.parsed = parsed
        self._csv: CSVFrames | None = None
        self.position = 0

    @classmethod
    def page(cls, body: bytes, source: DataSource, url: str) -> BodyInput:
        """An HTTP pull's page: its items numbered by position and, framed where they are
        prepared, handed on parsed (docs/harvest.md)."""
        return cls(body, BodyFormat.JSON, source, url, numbered=True, parsed=True)

    @property
    def header(self) -> tuple[bytes, bytes] | None:
        return self._csv.keyed_header if self._csv is not None else None

    def whole(self, reason: str) -> Input:
        """The body as one payload failing with `reason` (a raw source keeps an
        unframeable document so: see `services.spill`)."""
        return PayloadInput([self.body], self.name, reason)

    def frames(self) -> Iterator[Frame]:
        lines = io.BytesIO(self.body)  # lines end at LF only, as when reading a file
        if self.format is BodyFormat.JSONL:
            yield from jsonl_frames(lines, self.source.max_line_bytes)
        elif self.format is BodyFormat.CSV:
            options = ReadOptions.of(self.source)
            self._csv = CSVFrames(lines, options.required_columns, options.reading)
            yield from framed_csv(self._csv, self.name)
        else:
            key = "features" if self.source.format is SourceFormat.GEOJSON else None
            try:  # framed whole first: a body that does not frame leaves no batch behind
                path = self.source.reading.records_path
                # at C speed when provably exact (`jsonpage`), else token by token
                frames = exact_items(
                    self.body, path or ((key,) if key else None),
                    numbered=self.numbered, parsed=self.parsed,
                )  # fmt: skip
                if frames is None:
                    frames = list(json_frames([self.body], array_key=key, records_path=path))
                    if self.numbered:
                        frames = [Frame(n, *f[1:]) for n, f in enumerate(frames, 1)]
                yield from frames
            except JSONFrameError as exc:
                raise UnframeableError(self, self.name, str(exc)) from None
        self.position = len(self.body)
