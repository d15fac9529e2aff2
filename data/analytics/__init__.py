"""The outcome read side in one place: observation frames, the course outcomes kept in the
store, clinic outcomes, the outcome report (export path), the patient view, Today, dose,
retention, published benchmarks. Imports store/, accounts/, clinic/, selfreport/."""
