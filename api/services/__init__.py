"""Services: transactions and the run/sweep state machine. They raise typed errors and
return ORM objects or plain data, never HTTP responses."""
