"""Owner-aware alerting: routing sensors, incidents, escalation ladder, delivery channels.

`ALERT_SENSORS` (the four sensors, running by default) is built lazily so that importing a
submodule (model, escalation) does not pull in Dagster sensor definitions.
"""

from typing import Any

__all__ = ["ALERT_SENSORS"]


def __getattr__(name: str) -> Any:
    if name == "ALERT_SENSORS":
        from metrics_assets.alerting.sensors import build_alert_sensors

        sensors = build_alert_sensors()
        globals()["ALERT_SENSORS"] = sensors
        return sensors
    raise AttributeError(name)
