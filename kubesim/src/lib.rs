//! kubesim: a Kubernetes API server simulator.
