"""The market-data pipeline: state machine definition and its task services."""
