"""Payout rounds: four-eyes approval, exactly-once disbursement, the ledger and the final report."""
