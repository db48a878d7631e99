"""Map asset keys to pipelines through the asset graph.

Tagged assets carry `pipeline=<id>`; untagged ones (raw sources, helpers) belong to the
pipelines of their nearest tagged descendants. A check routes to the pipeline it is declared
for (its `pipeline` metadata), not to its asset's: a raw-orders check that gates investor
profit pages profit_agg's owners even though raw/orders' nearest tagged reader is profit_unit.
An asset "feeds investor" when any asset downstream of it has audience=investor, which lifts an
experiment failure to sev1.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from metrics_assets.alerting.horizon_guard import PLATFORM_PIPELINE
from metrics_core.config import PipelineConfig


@dataclass(frozen=True)
class Route:
    pipeline: str
    feeds_investor: bool


class AssetRouter:
    """Precomputed routes for every asset of a Dagster asset graph (built once per tick)."""

    def __init__(self, asset_graph: Any, pipelines: PipelineConfig) -> None:
        self._graph = asset_graph
        self._pipelines = pipelines
        self._keys = set(asset_graph.get_all_asset_keys())
        self._tag = {k: self._pipeline_tag(k) for k in self._keys}
        self._routes: dict[Any, tuple[Route, ...]] = {}

    def _pipeline_tag(self, key: Any) -> str | None:
        pid = self._graph.get(key).tags.get("pipeline")
        return pid if pid in self._pipelines.pipelines else None

    def _is_investor(self, key: Any) -> bool:
        node = self._graph.get(key)
        pid = self._tag.get(key)
        if pid is not None:
            return self._pipelines.pipelines[pid].is_investor
        return node.tags.get("audience") == "investor"

    def _descendants(self, key: Any) -> list[Any]:
        seen, queue, out = {key}, deque([key]), []
        while queue:
            for child in self._graph.get(queue.popleft()).child_keys:
                if child not in seen and child in self._keys:
                    seen.add(child)
                    out.append(child)
                    queue.append(child)
        return out

    def _nearest_tagged(self, key: Any) -> set[str]:
        found, seen, queue = set(), {key}, deque([key])
        while queue:
            for child in self._graph.get(queue.popleft()).child_keys:
                if child in seen or child not in self._keys:
                    continue
                seen.add(child)
                if self._tag.get(child):
                    found.add(self._tag[child])
                else:
                    queue.append(child)
        return found

    def _declared_pipeline(self, check_key: Any) -> str | None:
        value = self._graph.get_check_spec(check_key).metadata.get("pipeline")
        pid = getattr(value, "value", value)
        return pid if pid in self._pipelines.pipelines or pid == PLATFORM_PIPELINE else None

    def routes(self, key: Any) -> tuple[Route, ...]:
        """The pipelines a failure of `key` (an asset or a check key) belongs to; empty when
        nothing claims it."""
        if key in self._routes:
            return self._routes[key]
        if hasattr(key, "asset_key"):  # an AssetCheckKey
            pid = self._declared_pipeline(key)
            if pid is None:  # no declaration: the check's asset decides
                return self.routes(key.asset_key)
            if pid == PLATFORM_PIPELINE:  # the rotation's own checks: the platform lead's
                self._routes[key] = (Route(pid, False),)
                return self._routes[key]
            feeds = self._pipelines.pipelines[pid].is_investor or any(
                r.feeds_investor for r in self.routes(key.asset_key))
            self._routes[key] = (Route(pid, feeds),)
            return self._routes[key]
        if key not in self._keys:
            return ()
        feeds = any(self._is_investor(d) for d in self._descendants(key))
        own = self._tag.get(key)
        pids = {own} if own else self._nearest_tagged(key)
        routes = tuple(Route(pid, feeds) for pid in sorted(pids))
        self._routes[key] = routes
        return routes

    def unmapped(self) -> list[Any]:
        return sorted((k for k in self._keys if not self.routes(k)), key=lambda k: k.to_user_string())
