"""What every domain shares: settings, errors, auth, ids, clock, money, observability, DynamoDB helpers."""
