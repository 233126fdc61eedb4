"""Compensation after an outage: programs, business claims, entitlements and vouchers."""
