"""Everything after the engine: metrics (pure functions with signatures), result files, scoring a
run's predictions, gains with paired-bootstrap intervals, and the HTML report. All of it reads and
writes only files under results/, so it runs again without a model."""
