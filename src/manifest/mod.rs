//! Manifests: rendered documents parsed into Kubernetes objects, validated and ordered.
