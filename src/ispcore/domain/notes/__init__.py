"""Notes and tasks on accounts and addresses, and call logs on accounts."""
