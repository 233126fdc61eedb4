"""Drivers: profile, online status, location (H3 geo index), offers and earnings."""
