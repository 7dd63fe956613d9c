"""The identity domain's model: aggregates, values, schema and errors. No I/O."""
