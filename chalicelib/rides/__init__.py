"""Ride requests: dispatch to nearby drivers, the ride lifecycle, fares, ratings and complaints."""
