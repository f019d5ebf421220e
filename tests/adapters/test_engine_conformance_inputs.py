"""Engine conformance (V4): what the Arrow and the Spark engine accept and refuse.

The same errors from both engines for the same input (a label other than 0/1, an unknown
column), the same column selection, and the Spark engine's own input handling: a truncated
Parquet file is ``DATA_UNREADABLE``; Parquet float16, which Spark cannot read, is
``DATA_UNREADABLE`` with the fix; a missing path and an unsupported format; CSV (read with a
header and type inference; Spark's CSV reader reads an empty field as NULL); and
``ENGINE_UNAVAILABLE`` without pyspark or without Java (airel still imports the Spark engine
without pyspark).

Tolerances, fixtures and comparisons are in ``tests/engine_conformance_helpers.py``.

One module-scoped SparkSession; the module is skipped without ``java`` on PATH or without
pyspark, except in CI (``CI`` set), where that fails.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from airel.adapters.arrow.engine import ProfileOptions, profile_path
from airel.adapters.spark.engine import profile_path_spark
from airel.errors import AirelError, Reason
from engine_conformance_helpers import (
    Case,
    data_dir_fixture,  # noqa: F401  (the pytest fixture ``data_dir``)
    main_case_fixture,  # noqa: F401  (the pytest fixture ``main_case``)
    main_table,
    profile_problems,
    skip_without_spark,
    spark_fixture,  # noqa: F401  (the pytest fixture ``spark``)
    write,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

skip_without_spark()


# -- the same errors ------------------------------------------------------------------------------


def _both(spark: SparkSession, path: Path, options: ProfileOptions) -> list[AirelError]:
    """The error each engine raises for the same input (both must raise)."""
    with pytest.raises(AirelError) as arrow:
        profile_path(path, options)
    with pytest.raises(AirelError) as spark_error:
        profile_path_spark(path, options, spark=spark)
    return [arrow.value, spark_error.value]


def test_label_other_than_0_1_is_rejected_by_both(spark: SparkSession, data_dir: Path) -> None:
    path = write(pa.table({"x": [1.0, 2.0, 3.0], "y": [0, 1, 2]}), data_dir / "badlabel.parquet")
    for error in _both(spark, path, ProfileOptions(label="y")):
        assert error.reason is Reason.INVALID_VALUE
        assert error.details["column"] == "y"


def test_unknown_column_is_rejected_by_both(spark: SparkSession, main_case: Case) -> None:
    for options in (ProfileOptions(columns=["id", "nope"]), ProfileOptions(label="nope")):
        for error in _both(spark, main_case.path, options):
            assert error.reason is Reason.COLUMN_MISSING


def test_column_selection(spark: SparkSession, main_case: Case) -> None:
    options = ProfileOptions(columns=["f_mixed", "s"], label="y")
    a = profile_path(main_case.path, options)
    s = profile_path_spark(main_case.path, options, spark=spark)
    assert list(a.columns) == list(s.columns) == ["f_mixed", "s"]
    assert profile_problems(a, s, main_case.table) == []


def test_truncated_parquet_is_unreadable(
    spark: SparkSession, main_case: Case, data_dir: Path
) -> None:
    cut = data_dir / "cut.parquet"
    cut.write_bytes(main_case.path.read_bytes()[: main_case.path.stat().st_size // 2])
    with pytest.raises(AirelError) as info:
        profile_path_spark(cut, spark=spark)
    assert info.value.reason is Reason.DATA_UNREADABLE


def test_float16_gets_a_fix(spark: SparkSession, data_dir: Path) -> None:
    """Spark cannot read Parquet FLOAT16: a clear error with the fix, not a crash."""
    path = data_dir / "f16.parquet"
    pq.write_table(pa.table({"h": pa.array(np.array([1.5, 2.0], dtype=np.float16))}), path)
    with pytest.raises(AirelError) as info:
        profile_path_spark(path, spark=spark)
    assert info.value.reason is Reason.DATA_UNREADABLE
    assert "float32" in (info.value.fix or "")


# -- paths, formats and availability ---------------------------------------------------------


def test_missing_path_and_unsupported_format(spark: SparkSession, data_dir: Path) -> None:
    with pytest.raises(AirelError) as missing:
        profile_path_spark(data_dir / "absent.parquet", spark=spark)
    assert missing.value.reason is Reason.ARTIFACT_MISSING
    other = data_dir / "data.json"
    other.write_text("{}", encoding="utf-8")
    with pytest.raises(AirelError) as unsupported:
        profile_path_spark(other, spark=spark)
    assert unsupported.value.reason is Reason.INVALID_VALUE


def test_csv_through_spark(spark: SparkSession, data_dir: Path) -> None:
    """CSV is read with a header and type inference; numbers and strings profile as in Parquet."""
    table = main_table(2_000).select(["id", "f_lognormal", "i32", "s_plain"])
    import pyarrow.csv as pacsv

    words = pc.replace_substring_regex(table["s_plain"].fill_null("missing"), "^$", "empty")
    table = table.set_column(3, "s_plain", words)  # Spark's CSV reader reads "" as NULL

    pacsv.write_csv(table, data_dir / "small.csv")
    s = profile_path_spark(data_dir / "small.csv", spark=spark)
    p = profile_path_spark(write(table, data_dir / "small.parquet"), spark=spark)
    assert s.source["format"] == "csv"
    assert [c.logical for c in s.columns.values()] == [c.logical for c in p.columns.values()]
    assert profile_problems(p, s, table) == []


def test_engine_unavailable_without_pyspark(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> Any:
        return None if name == "pyspark" else real(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(AirelError) as info:
        profile_path_spark("anything.parquet")
    assert info.value.reason is Reason.ENGINE_UNAVAILABLE
    assert "airel[spark]" in (info.value.fix or "")


def test_engine_unavailable_without_java(main_case: Case) -> None:
    """No Java runtime (JAVA_HOME pointing nowhere): ENGINE_UNAVAILABLE, not a Py4J trace."""
    code = (
        "import sys\n"
        "from airel.adapters.spark.engine import profile_path_spark\n"
        "from airel.errors import AirelError\n"
        "try:\n"
        "    profile_path_spark(sys.argv[1])\n"
        "except AirelError as e:\n"
        "    print(e.reason.value)\n"
    )
    env = {**os.environ, "JAVA_HOME": "/nonexistent-java-home"}
    done = subprocess.run(
        [sys.executable, "-c", code, str(main_case.path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.stdout.strip() == Reason.ENGINE_UNAVAILABLE.value


def test_airel_imports_the_spark_engine_without_pyspark() -> None:
    code = (
        "import sys; sys.modules['pyspark'] = None\n"
        "import airel.adapters.spark.engine\n"
        "assert 'py4j' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
