"""`make bench`: the performance tables. Each benchmark prints one table; nothing here is a test."""
