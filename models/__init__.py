"""Risk scores per theme: a transparent composite index and supervised models with spatial CV."""
