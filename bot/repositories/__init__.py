"""All SQL lives here, one module per aggregate; rows are mapped to models."""
