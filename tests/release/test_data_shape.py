"""Registered data is read, cheaply (R2, E1, V3; issue 18 point 6).

Registering a dataset or eval dataset reads its Parquet/Arrow footer or its CSV's dialect and
header — never the data. An unreadable file, or a declared row count or schema the file does
not have, is refused with exit 2 and nothing is written (no blob, no record, no audit entry);
what was read is stored with the version. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from airel.adapters.arrow.probe import probe_file
from airel.cli.main import app
from airel.client import Client
from airel.domain.release.data_shape import (
    DataFormat,
    DataShape,
    ShapeColumn,
    TypeSource,
    check_declared,
    type_of_declared,
    type_of_stored,
)
from airel.errors import ParseError, Reason, ValidationError
from airel.services.release import components

runner = CliRunner()
Write = Callable[[str, str], Path]

DATASET = """
kind: dataset
name: {name}
version: "{version}"
owner: data
source_lineage: [cards]
snapshot: {{query: q}}
schema: {schema}
classification: internal
retention: 7y
allowed_use: [fraud]
row_count: {rows}
artifact: {artifact}
"""
SCHEMA = "{id: int64, amount: float64, channel: string}"


def table(rows: int) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(range(rows), type=pa.int64()),
            "amount": pa.array([float(i) / 3 for i in range(rows)], type=pa.float64()),
            "channel": pa.array(["web", "pos"] * (rows // 2) + ["atm"] * (rows % 2)),
        }
    )


def dataset(
    write: Write,
    artifact: str,
    *,
    rows: int,
    schema: str = SCHEMA,
    name: str = "TRAIN",
    version: str = "1",
) -> Path:
    text = DATASET.format(name=name, version=version, schema=schema, rows=rows, artifact=artifact)
    return write(f"{name}-{version}.yaml", text)


def cli(client: Client, *args: str) -> tuple[int, Any]:
    url = client.settings.database_url
    result = runner.invoke(app, ["--database-url", url, "--actor", "tester", *args])
    text = result.stdout.strip()
    try:
        return result.exit_code, json.loads(text) if text else None
    except json.JSONDecodeError:
        return result.exit_code, text


def written(client: Client) -> tuple[int, int, set[str], list[Path]]:
    """(audit entries, components, blobs, leftovers under tmp/): what 'nothing written' compares."""
    root = client.settings.artifact_root
    blobs = {p.name for p in (root / "sha256").iterdir()} if (root / "sha256").is_dir() else set()
    tmp = sorted((root / "tmp").rglob("*")) if (root / "tmp").is_dir() else []
    return client.audit.verify().entries, len(client.registry.components()), blobs, tmp


def refused(client: Client, spec: Path, reason: Reason) -> dict[str, Any]:
    """Register through the CLI: exit 2 with ``reason`` and a fix, and nothing written."""
    before = written(client)
    code, data = cli(client, "register", "dataset", str(spec), "--json")
    assert code == 2, data
    assert data["reason"] == reason.value
    assert data["fix"]
    assert written(client) == before
    return dict(data)


# --------------------------------------------------------------------------- refused


def test_truncated_parquet_is_refused_and_nothing_is_written(
    client: Client, project: Path, write: Write
) -> None:
    """R2: a Parquet file cut short (no footer) is DATA_UNREADABLE, exit 2, nothing stored."""
    pq.write_table(table(1000), project / "train.parquet")
    data = (project / "train.parquet").read_bytes()
    (project / "train.parquet").write_bytes(data[: len(data) // 2])
    error = refused(client, dataset(write, "train.parquet", rows=1000), Reason.DATA_UNREADABLE)
    assert error["details"]["format"] == "parquet"
    assert "footer" in error["fix"]


def test_file_named_parquet_that_is_not_parquet_is_refused(
    client: Client, project: Path, write: Write
) -> None:
    """R2: the name says Parquet, so the bytes must read as Parquet."""
    (project / "train.parquet").write_text("id,amount,channel\n1,2.0,web\n")
    refused(client, dataset(write, "train.parquet", rows=1), Reason.DATA_UNREADABLE)


def test_declared_row_count_mismatch_is_refused(
    client: Client, project: Path, write: Write
) -> None:
    """R2: row_count must equal the rows in the Parquet footer."""
    pq.write_table(table(10), project / "train.parquet")
    error = refused(
        client, dataset(write, "train.parquet", rows=11), Reason.DATA_ROW_COUNT_MISMATCH
    )
    (problem,) = error["details"]["problems"]
    assert (problem["field"], problem["declared"], problem["actual"]) == ("row_count", 11, 10)
    assert error["details"]["data_shape"]["rows"] == 10


def test_schema_mismatch_collects_every_problem(
    client: Client, project: Path, write: Write
) -> None:
    """R2: a missing column, a wrong stored type and an undeclared column are all reported."""
    pq.write_table(table(4), project / "train.parquet")
    spec = dataset(
        write, "train.parquet", rows=5, schema="{id: string, amount: float64, label: int64}"
    )
    error = refused(client, spec, Reason.DATA_ROW_COUNT_MISMATCH)
    problems = {(p["reason"], p["field"], p.get("column")) for p in error["details"]["problems"]}
    assert problems == {
        ("DATA_ROW_COUNT_MISMATCH", "row_count", None),
        ("DATA_SCHEMA_MISMATCH", "schema.id", "id"),  # string declared, int64 stored
        ("DATA_SCHEMA_MISMATCH", "schema.label", "label"),  # declared, not in the file
        ("DATA_SCHEMA_MISMATCH", "schema", "channel"),  # in the file, not declared
    }
    only_schema = dataset(
        write, "train.parquet", rows=4, schema="{id: int64, amount: int64, channel: string}",
        version="2",
    )  # fmt: skip
    error = refused(client, only_schema, Reason.DATA_SCHEMA_MISMATCH)
    assert error["details"]["problems"][0]["actual"] == "double"


def test_truncated_eval_dataset_is_refused(client: Client, project: Path, write: Write) -> None:
    """E1: eval datasets are read the same way (row count checked, no schema field)."""
    pq.write_table(table(6), project / "golden.parquet")
    spec = write(
        "golden.yaml",
        """
        kind: eval_dataset
        name: GOLDEN
        version: "1"
        role: golden
        row_count: 7
        artifact: golden.parquet
        """,
    )
    before = written(client)
    code, data = cli(client, "register", "eval_dataset", str(spec), "--json")
    assert code == 2
    assert data["reason"] == Reason.DATA_ROW_COUNT_MISMATCH.value
    assert written(client) == before


@pytest.mark.parametrize(
    ("content", "why"),
    [(b"", "empty"), (b"PAR1\x00\x00binary\x00", "NUL")],
    ids=["empty", "binary"],
)
def test_unreadable_csv_is_refused(
    client: Client, project: Path, write: Write, content: bytes, why: str
) -> None:
    """R2: a file named .csv must be delimited text with a header."""
    (project / "train.csv").write_bytes(content)
    error = refused(client, dataset(write, "train.csv", rows=0), Reason.DATA_UNREADABLE)
    assert why in error["message"]


def test_csv_header_must_match_the_declared_schema(
    client: Client, project: Path, write: Write
) -> None:
    """R2: a CSV's header is read; a declared column it lacks is refused (types are not checked:
    a CSV does not store them)."""
    (project / "train.csv").write_text("id,amount\n1,2.5\n")
    error = refused(client, dataset(write, "train.csv", rows=1), Reason.DATA_SCHEMA_MISMATCH)
    assert [p["column"] for p in error["details"]["problems"]] == ["channel"]


# --------------------------------------------------------------------------- stored


def test_good_parquet_stores_what_was_read(client: Client, project: Path, write: Write) -> None:
    """R2/V3: format, schema, rows and row groups from the footer are kept with the version;
    generic declared types (int, float, string) match any width of their family."""
    pq.write_table(table(10), project / "train.parquet", row_group_size=4)
    spec = dataset(write, "train.parquet", rows=10, schema="{id: int, amount: float, channel: str}")
    code, data = cli(client, "register", "dataset", str(spec), "--json")
    assert code == 0, data
    shape = client.registry.component("dataset", "TRAIN:1").fields["data_shape"]
    assert shape == {
        "format": "parquet",
        "columns": [
            {"name": "id", "type": "int64"},
            {"name": "amount", "type": "double"},
            {"name": "channel", "type": "string"},
        ],
        "types": "stored",
        "rows": 10,
        "row_groups": 3,
        "files": 1,
    }
    again = client.registry.register(spec)  # idempotent: the same bytes read the same
    assert again.created is False


def test_csv_dialect_is_sniffed_and_stored(client: Client, project: Path, write: Write) -> None:
    """R2: a semicolon CSV is read with its own delimiter; rows are not counted (no footer)."""
    (project / "train.csv").write_text("id;amount;channel\n1;2,5;web\n2;3,5;pos\n")
    result = client.registry.register(dataset(write, "train.csv", rows=99))
    shape = result.component.fields["data_shape"]
    assert shape["format"] == "csv"
    assert shape["delimiter"] == ";"
    assert [c["name"] for c in shape["columns"]] == ["id", "amount", "channel"]
    assert shape["types"] == "inferred"
    assert "rows" not in shape


def test_gzipped_csv_is_sniffed(client: Client, project: Path, write: Write) -> None:
    """R2: a .csv.gz is decompressed for its first block only."""
    with gzip.open(project / "train.csv.gz", "wt") as fh:
        fh.write("id\tamount\tchannel\n1\t2.5\tweb\n")
    shape = client.registry.register(dataset(write, "train.csv.gz", rows=1)).component.fields[
        "data_shape"
    ]
    assert (shape["delimiter"], shape["compression"]) == ("\t", "gzip")


def test_directory_of_parquet_parts_reads_every_footer(
    client: Client, project: Path, write: Write
) -> None:
    """R2: a directory artifact's parts are each read; rows and row groups are summed and
    Spark's _SUCCESS marker is skipped."""
    parts = project / "train"
    parts.mkdir()
    for i, rows in enumerate((3, 4, 5)):
        pq.write_table(table(rows), parts / f"part-{i}.parquet")
    (parts / "_SUCCESS").write_bytes(b"")
    result = client.registry.register(dataset(write, "train", rows=12))
    shape = result.component.fields["data_shape"]
    assert (shape["rows"], shape["row_groups"], shape["files"]) == (12, 3, 3)

    pq.write_table(table(2), parts / "part-3.parquet")
    data = (parts / "part-3.parquet").read_bytes()
    (parts / "part-3.parquet").write_bytes(data[:-20])  # one truncated part
    error = refused(client, dataset(write, "train", rows=14, version="2"), Reason.DATA_UNREADABLE)
    assert error["details"]["path"] == "train/part-3.parquet"

    pq.write_table(
        pa.table({"id": ["a"], "amount": [1.0], "channel": ["x"]}), parts / "part-3.parquet"
    )
    error = refused(
        client, dataset(write, "train", rows=13, version="3"), Reason.DATA_SCHEMA_MISMATCH
    )
    assert error["details"]["problems"][0]["column"] == "id"


def test_unknown_format_is_hashed_and_recorded_unknown(
    client: Client, project: Path, write: Write
) -> None:
    """R2: data airel does not read (JSON lines here) registers as before, format unknown."""
    (project / "cases.jsonl").write_text('{"id": 1}\n')
    spec = write(
        "cases.yaml",
        """
        kind: eval_dataset
        name: CASES
        version: "1"
        role: golden
        row_count: 5
        artifact: cases.jsonl
        """,
    )
    result = client.registry.register(spec)
    assert result.component.artifact is not None
    assert result.component.fields["data_shape"] == {"format": "unknown", "files": 1}


def test_version_registered_before_shapes_stays_idempotent(
    client: Client, project: Path, write: Write, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R2/B2: re-registering a version stored by an airel that did not read shapes is still a
    no-op, not a conflict."""
    pq.write_table(table(4), project / "train.parquet")
    spec = dataset(write, "train.parquet", rows=4)
    with monkeypatch.context() as patch:
        patch.setattr(components, "_source_shape", lambda *_: None)
        old = client.registry.register(spec).component
    assert "data_shape" not in old.fields
    again = client.registry.register(spec)
    assert again.created is False
    assert again.component == old


def test_the_staged_copy_is_what_is_read(
    client: Client, project: Path, write: Write, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R2: the shape is re-read from the staged bytes before commit; if they fail the checks
    (the file changed after it was first read), nothing is committed."""
    pq.write_table(table(4), project / "train.parquet")
    spec = dataset(write, "train.parquet", rows=4)
    real = components._source_shape

    def then_truncate(*args: Any) -> Any:
        shape = real(*args)
        data = (project / "train.parquet").read_bytes()
        (project / "train.parquet").write_bytes(data[:10])
        return shape

    monkeypatch.setattr(components, "_source_shape", then_truncate)
    before = written(client)
    with pytest.raises(ParseError) as info:
        client.registry.register(spec)
    assert info.value.reason is Reason.DATA_UNREADABLE
    assert written(client) == before


# --------------------------------------------------------------------------- profile hint


def test_semicolon_csv_profiled_as_one_column_gets_a_hint(client: Client, project: Path) -> None:
    """V3: a CSV read as one column `a;b;c` names the delimiter it looks like, in the stored
    profile and on `airel profile`; a comma CSV gets no hint."""
    (project / "semi.csv").write_text("id;amount;channel\n1;2.5;web\n2;3.5;pos\n")
    prof, _record, _ = client.data.profile(project / "semi.csv")
    assert list(prof.columns) == ["id;amount;channel"]
    (hint,) = prof.source["hints"]
    assert "semicolon" in hint
    assert "';'" in hint
    code, text = cli(client, "profile", str(project / "semi.csv"))
    assert code == 0
    assert "hint" in text
    assert "semicolon" in text

    (project / "comma.csv").write_text("id,amount\n1,2.5\n")
    prof, _record, _ = client.data.profile(project / "comma.csv")
    assert "hints" not in prof.source


# --------------------------------------------------------------------------- pure rules


@pytest.mark.parametrize(
    ("declared", "stored", "ok"),
    [
        ("int64", "int64", True),
        ("int", "int32", True),
        ("int32", "int64", False),
        ("float64", "double", True),
        ("double", "double", True),
        ("float", "double", True),
        ("float", "float", True),
        ("float32", "double", False),
        ("float64", "int64", False),
        ("string", "large_string", True),
        ("string", "dictionary<values=string, indices=int32, ordered=0>", True),
        ("bool", "bool", True),
        ("boolean", "int8", False),
        ("timestamp", "timestamp[ns]", True),
        ("timestamp[us, tz=UTC]", "timestamp[us, tz=UTC]", True),
        ("timestamp[us, tz=UTC]", "timestamp[ns, tz=UTC]", False),
        ("date", "date32[day]", True),
        ("decimal(10,2)", "decimal128(10, 2)", True),
        ("geography", "binary", True),  # a name airel does not know: not type-checked
        ("int64", "null", True),  # an all-null column has no type to contradict
    ],
)
def test_declared_type_rules(declared: str, stored: str, ok: bool) -> None:
    """R2: generic names match their family, concrete names match exactly."""
    shape = DataShape(
        format=DataFormat.PARQUET,
        columns=(ShapeColumn(name="c", type=stored),),
        types=TypeSource.STORED,
        rows=1,
    )
    assert (check_declared(shape, row_count=1, schema={"c": declared}) == []) is ok


def test_type_families() -> None:
    """R2: how declared and stored type names are read."""
    assert type_of_declared("Int64") == ("integer", "int64")
    assert type_of_declared("varchar(20)") == ("string", None)
    assert type_of_stored("float") == ("float", "float32")  # Arrow's name for float32
    assert type_of_declared("float") == ("float", None)  # a person's "float"
    assert type_of_declared("what") == (None, None)


def test_inferred_types_are_not_checked() -> None:
    """R2: a CSV's types are a guess from a sample, so only its names are compared."""
    shape = DataShape(
        format=DataFormat.CSV,
        columns=(ShapeColumn(name="c", type="int64"),),
        types=TypeSource.INFERRED,
    )
    assert check_declared(shape, row_count=123, schema={"c": "string"}) == []


def test_probe_recognises_parquet_by_magic_without_a_suffix(tmp_path: Path) -> None:
    """R2: a single file with no known suffix is read if its magic bytes say Parquet."""
    pq.write_table(table(3), tmp_path / "data")
    assert probe_file(tmp_path / "data", "data").rows == 3
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01")
    assert probe_file(tmp_path / "blob.bin", "blob.bin").format is DataFormat.UNKNOWN


def test_mismatch_error_names_the_file_contents() -> None:
    """R2: the refusal's fix says what the file holds, so the spec can be corrected."""
    from airel.domain.release.data_shape import declared_mismatch

    shape = DataShape(
        format=DataFormat.PARQUET,
        columns=(ShapeColumn(name="c", type="int64"),),
        types=TypeSource.STORED,
        rows=5,
    )
    problems = check_declared(shape, row_count=6, schema={"c": "int64"})
    error = declared_mismatch("dataset X:1", shape, problems)
    assert isinstance(error, ValidationError)
    assert error.reason is Reason.DATA_ROW_COUNT_MISMATCH
    assert error.fix is not None
    assert "5 rows" in error.fix
    assert "c: int64" in error.fix


@pytest.mark.parametrize(
    ("text", "delimiter", "names"),
    [
        ("a;b;c\n1;2;3\n", ";", ["a", "b", "c"]),
        ("a|b\n1|2\n", "|", ["a", "b"]),
        ("note\nhello; world\nfoo; bar\n", ",", ["note"]),  # ";" only inside values
        ('id,"a;b"\n1,"x;y"\n', ",", ["id", "a;b"]),
        ("x\n1\n", ",", ["x"]),
    ],
)
def test_csv_delimiter_sniffing(
    tmp_path: Path, text: str, delimiter: str, names: list[str]
) -> None:
    """R2: the delimiter is the file's, not one that only appears inside values."""
    (tmp_path / "d.csv").write_text(text)
    shape = probe_file(tmp_path / "d.csv", "d.csv")
    assert (shape.delimiter, shape.names) == (delimiter, names)
