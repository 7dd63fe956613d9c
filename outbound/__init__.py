"""Outbound channels: changes of the event log pushed to internal services (signed webhooks)."""
