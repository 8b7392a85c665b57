//! Deploy ordering beyond kinds: the `rudder.io/depends-on` annotation
//! (`"<kind>/<name>[, <kind>/<name>…]"`, objects of the same release and namespace) says
//! that an object is applied only once what it names is ready, and deleted before it.
//! This module builds and checks that graph: unknown references and cycles are errors
//! naming the objects; [`Graph::layers`] gives the order (objects of a layer are
//! independent of each other).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// The annotation naming what an object waits for.
pub const DEPENDS_ON_ANNOTATION: &str = "rudder.io/depends-on";

/// Why a depends-on graph cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DependsError {
    #[error(
        "{object} depends on {reference} ({DEPENDS_ON_ANNOTATION}), which is not an object of the release"
    )]
    Unknown { object: String, reference: String },
    #[error("{object}: {DEPENDS_ON_ANNOTATION} entry {entry:?} is not of the form <kind>/<name>")]
    Malformed { object: String, entry: String },
    /// The cycle, its items joined by arrows.
    #[error("{DEPENDS_ON_ANNOTATION} forms a cycle: {0}")]
    Cycle(String),
}

/// An object as the graph names it: `Kind/name` in its namespace.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Node {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl std::fmt::Display for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.kind, self.name)
    }
}

/// The dependencies of a release's objects (by index into the objects given).
#[derive(Debug, Default)]
pub struct Graph {
    /// For each object, the objects it depends on.
    pub depends_on: Vec<BTreeSet<usize>>,
}

impl Graph {
    /// Reads the annotations of `objects` (each with its node).
    pub fn build(objects: &[(Node, &Value)]) -> Result<Graph, DependsError> {
        let index: BTreeMap<&Node, usize> = objects
            .iter()
            .enumerate()
            .map(|(i, (n, _))| (n, i))
            .collect();
        let mut depends_on = vec![BTreeSet::new(); objects.len()];
        for (i, (node, object)) in objects.iter().enumerate() {
            let Some(text) = object
                .pointer("/metadata/annotations")
                .and_then(|a| a.get(DEPENDS_ON_ANNOTATION))
                .and_then(Value::as_str)
            else {
                continue;
            };
            for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
                let (kind, name) = entry
                    .split_once('/')
                    .filter(|(k, n)| !k.is_empty() && !n.is_empty() && !n.contains('/'))
                    .ok_or_else(|| DependsError::Malformed {
                        object: node.to_string(),
                        entry: entry.to_string(),
                    })?;
                let target = Node {
                    kind: kind.to_string(),
                    namespace: node.namespace.clone(),
                    name: name.to_string(),
                };
                let j = *index.get(&target).ok_or_else(|| DependsError::Unknown {
                    object: node.to_string(),
                    reference: target.to_string(),
                })?;
                depends_on[i].insert(j);
            }
        }
        let names: Vec<String> = objects.iter().map(|(n, _)| n.to_string()).collect();
        Graph::new(depends_on, &names)
    }

    /// A graph from its edges (for each item, the items it depends on), refused when they
    /// form a cycle; `names` name the items in the error.
    pub fn new(depends_on: Vec<BTreeSet<usize>>, names: &[String]) -> Result<Graph, DependsError> {
        let graph = Graph { depends_on };
        graph.check_acyclic(names)?;
        Ok(graph)
    }

    /// Whether any object depends on another.
    pub fn is_empty(&self) -> bool {
        self.depends_on.iter().all(BTreeSet::is_empty)
    }

    /// Objects some other object depends on.
    pub fn depended_on(&self) -> BTreeSet<usize> {
        self.depends_on.iter().flatten().copied().collect()
    }

    /// The objects in layers: layer 0 depends on nothing, each later layer only on earlier
    /// ones (an object is in the layer after its deepest dependency).
    pub fn layers(&self) -> Vec<Vec<usize>> {
        let mut depth: Vec<Option<usize>> = vec![None; self.depends_on.len()];
        fn depth_of(i: usize, g: &Graph, depth: &mut Vec<Option<usize>>) -> usize {
            if let Some(d) = depth[i] {
                return d;
            }
            let d = g.depends_on[i]
                .iter()
                .map(|&j| depth_of(j, g, depth) + 1)
                .max()
                .unwrap_or(0);
            depth[i] = Some(d);
            d
        }
        let mut layers: Vec<Vec<usize>> = Vec::new();
        for i in 0..self.depends_on.len() {
            let d = depth_of(i, self, &mut depth);
            if layers.len() <= d {
                layers.resize(d + 1, Vec::new());
            }
            layers[d].push(i);
        }
        layers
    }

    fn check_acyclic(&self, names: &[String]) -> Result<(), DependsError> {
        // Colours: 0 unvisited, 1 on the current path, 2 done.
        let mut colour = vec![0u8; self.depends_on.len()];
        let mut path = Vec::new();
        fn visit(
            i: usize,
            g: &Graph,
            colour: &mut [u8],
            path: &mut Vec<usize>,
        ) -> Option<Vec<usize>> {
            colour[i] = 1;
            path.push(i);
            for &j in &g.depends_on[i] {
                if colour[j] == 1 {
                    let start = path.iter().position(|&p| p == j).expect("on the path");
                    let mut cycle = path[start..].to_vec();
                    cycle.push(j);
                    return Some(cycle);
                }
                if colour[j] == 0
                    && let Some(cycle) = visit(j, g, colour, path)
                {
                    return Some(cycle);
                }
            }
            path.pop();
            colour[i] = 2;
            None
        }
        for i in 0..self.depends_on.len() {
            if colour[i] == 0
                && let Some(cycle) = visit(i, self, &mut colour, &mut path)
            {
                let path: Vec<&str> = cycle.iter().map(|&k| names[k].as_str()).collect();
                return Err(DependsError::Cycle(path.join(" → ")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(kind: &str, name: &str) -> Node {
        Node {
            kind: kind.into(),
            namespace: Some("default".into()),
            name: name.into(),
        }
    }

    fn with_deps(deps: &str) -> Value {
        json!({"metadata": {"annotations": {DEPENDS_ON_ANNOTATION: deps}}})
    }

    #[test]
    fn layers_follow_the_annotations_and_independent_objects_share_a_layer() {
        let none = json!({});
        let migrate = with_deps("Deployment/db");
        let web = with_deps("Job/migrate, Service/db");
        let objects = [
            (node("Deployment", "web"), &web),
            (node("Job", "migrate"), &migrate),
            (node("Deployment", "db"), &none),
            (node("Service", "db"), &none),
        ];
        let g = Graph::build(&objects).unwrap();
        assert_eq!(g.layers(), vec![vec![2, 3], vec![1], vec![0]]);
        assert_eq!(g.depended_on(), BTreeSet::from([1, 2, 3]));
        assert!(!g.is_empty());
    }

    #[test]
    fn unknown_references_malformed_entries_and_cycles_are_named() {
        let a = with_deps("Job/b");
        let b = with_deps("Deployment/c");
        let c = with_deps("Deployment/a");
        let cyclic = [
            (node("Deployment", "a"), &a),
            (node("Job", "b"), &b),
            (node("Deployment", "c"), &c),
        ];
        assert_eq!(
            Graph::build(&cyclic).unwrap_err().to_string(),
            "rudder.io/depends-on forms a cycle: Deployment/a → Job/b → Deployment/c → Deployment/a"
        );
        let missing = with_deps("Secret/nope");
        assert_eq!(
            Graph::build(&[(node("Deployment", "a"), &missing)]).unwrap_err(),
            DependsError::Unknown {
                object: "Deployment/a".into(),
                reference: "Secret/nope".into()
            }
        );
        let bad = with_deps("just-a-name");
        assert!(matches!(
            Graph::build(&[(node("Deployment", "a"), &bad)]).unwrap_err(),
            DependsError::Malformed { .. }
        ));
    }
}
