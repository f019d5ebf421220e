"""What an eval run evaluates: a predictions file, a Python entry point or an HTTP endpoint.

This is the public face of the eval targets; import from here. Every target yields one
:class:`Call` per eval item — output or failure, latency, and where known tokens and cost — and
a per-item failure is recorded in the call (``error``/``timeout``), never raised:

* :func:`read_predictions` — Parquet, CSV or JSON Lines rows keyed by item id
  (:mod:`airel.adapters.eval.predictions`);
* :func:`call_entry_point` — ``module:function`` in a separate worker process with a per-item
  timeout (:mod:`airel.adapters.eval.entrypoint`, :mod:`airel.adapters.eval.worker`);
* :func:`call_http` — plain JSON or an OpenAI-compatible chat API
  (:mod:`airel.adapters.eval.http`).

The LLM judge (:mod:`airel.adapters.eval.llm_judge`) and custom evaluator plugins
(:mod:`airel.adapters.eval.plugins`) judge those calls' outputs.
"""

from __future__ import annotations

from airel.adapters.eval.call import Call, CallStatus, item_ids
from airel.adapters.eval.entrypoint import call_entry_point, parse_spec
from airel.adapters.eval.http import HttpMode, call_http, chat_url, check_url
from airel.adapters.eval.predictions import PredictionsFormat, read_predictions

__all__ = [
    "Call",
    "CallStatus",
    "HttpMode",
    "PredictionsFormat",
    "call_entry_point",
    "call_http",
    "chat_url",
    "check_url",
    "item_ids",
    "parse_spec",
    "read_predictions",
]
