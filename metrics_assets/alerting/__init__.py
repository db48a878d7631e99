"""Owner-aware alerting: routing sensors, incidents, escalation ladder, delivery.

The sensors are built by `metrics_assets.alerting.sensors.build_alert_sensors()` where the
definitions are assembled; the data model and settings live in the ground layer
(`metrics_core.alerting_model`, `metrics_core.alerting_settings`).
"""
