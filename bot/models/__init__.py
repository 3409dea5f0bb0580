"""Pure domain models: no I/O, no discord imports."""
