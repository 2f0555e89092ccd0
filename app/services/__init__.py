"""Domain rules of Ruxue, callable without a request."""
