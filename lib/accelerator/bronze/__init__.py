"""Bronze: land partner deliveries as delivered, with a log that reconciles every row."""
