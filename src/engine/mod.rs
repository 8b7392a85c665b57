//! Template engine: renders a chart's templates with tera, helm-style context and functions.
