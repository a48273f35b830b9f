"""pool.*: nothing explicit yet (the pool record and its implicit messages are generic)."""
