"""HTTP routes, one module per resource; they call services and shape responses only."""
