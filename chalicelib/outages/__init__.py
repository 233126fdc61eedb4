"""The outage detector: components, probes, heartbeats, incidents and the status page."""
