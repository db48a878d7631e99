"""Local fakes for alerting tests: on-call roster, work calendar, Slack/PagerDuty HTTP, SMTP."""
