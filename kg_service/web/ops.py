"""Operations: liveness at ``/healthz`` and Prometheus text metrics at ``/metrics``."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from .metrics import BUCKETS
from .state import service

bp = Blueprint("ops", __name__)


@bp.route("/healthz")
def healthz() -> Response:
    kg = service().kg
    return jsonify({"status": "ok", "triples": len(kg), "version": kg.version})


def render_metrics() -> str:
    """The counters in Prometheus text exposition format (version 0.0.4)."""
    svc = service()
    m = svc.metrics.snapshot()
    lines = ["# HELP kg_http_requests_total HTTP requests answered, by method and status.",
             "# TYPE kg_http_requests_total counter"]
    lines += [f'kg_http_requests_total{{method="{method}",status="{status}"}} {n}'
              for (method, status), n in sorted(m["requests"].items())]
    lines += ["# HELP kg_http_errors_total Requests answered with a 5xx status.",
              "# TYPE kg_http_errors_total counter", f"kg_http_errors_total {m['errors']}",
              "# HELP kg_query_timeouts_total Queries stopped at their time limit.",
              "# TYPE kg_query_timeouts_total counter", f"kg_query_timeouts_total {m['timeouts']}",
              "# HELP kg_query_truncated_total Results cut at the row cap.",
              "# TYPE kg_query_truncated_total counter", f"kg_query_truncated_total {m['truncated']}",
              "# HELP kg_query_workers_stopped_total Processes ended to stop a query (timeout, client gone).",
              "# TYPE kg_query_workers_stopped_total counter",
              f"kg_query_workers_stopped_total {m['stopped'] + svc.pool.stopped}",
              "# HELP kg_query_seconds Time spent running queries.",
              "# TYPE kg_query_seconds histogram"]
    lines += [f'kg_query_seconds_bucket{{le="{b:g}"}} {m["query_buckets"][b]}' for b in BUCKETS]
    lines += [f'kg_query_seconds_bucket{{le="+Inf"}} {m["query_count"]}',
              f"kg_query_seconds_sum {m['query_seconds']:.6f}", f"kg_query_seconds_count {m['query_count']}",
              "# HELP kg_triples Triples in the served dataset.", "# TYPE kg_triples gauge",
              f"kg_triples {len(svc.kg)}"]
    return "\n".join(lines) + "\n"


@bp.route("/metrics")
def metrics() -> Response:
    return Response(render_metrics(), content_type="text/plain; version=0.0.4; charset=utf-8")
