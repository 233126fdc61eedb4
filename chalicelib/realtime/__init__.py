"""Real-time messages to riders and drivers over WebSocket (API Gateway WebSocket API; devstack locally)."""
