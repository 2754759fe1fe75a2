"""One module per question the kit answers: staffing, retention, pay, pilot, decision."""
