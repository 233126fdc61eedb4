"""The local stack of `make run`: embedded AWS (moto), the API, the scheduler and the queue pump.

Developer tooling only; nothing here is deployed to Lambda.
"""
