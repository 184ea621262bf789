//! Graphviz DOT rendering of a protocol tree, through `petgraph`.

use petgraph::dot::{Config, Dot};
use petgraph::graph::{DiGraph, NodeIndex};

use super::ProtocolNode;

/// Most inputs listed on a node's label before it says only how many.
const LABEL_LIST_MAX: usize = 8;

/// The tree as a DOT digraph: internal nodes say who speaks and who sends 1, edges are the bit
/// sent, leaves the answer.
pub fn protocol_dot(tree: &ProtocolNode) -> String {
    let mut g: DiGraph<String, &'static str> = DiGraph::new();
    add(&mut g, tree);
    format!("{}", Dot::with_config(&g, &[Config::GraphContentOnly]))
        .lines()
        .fold(String::from("digraph protocol {\n"), |acc, l| {
            acc + l + "\n"
        })
        + "}\n"
}

fn add(g: &mut DiGraph<String, &'static str>, t: &ProtocolNode) -> NodeIndex {
    match t {
        ProtocolNode::Leaf { output } => g.add_node(format!("output {output}")),
        ProtocolNode::Alice { ones, zero, one } | ProtocolNode::Bob { ones, zero, one } => {
            let who = if matches!(t, ProtocolNode::Alice { .. }) {
                "Alice"
            } else {
                "Bob"
            };
            let list = if ones.len() <= LABEL_LIST_MAX {
                format!("{ones:?}")
            } else {
                format!("{} inputs", ones.len())
            };
            let me = g.add_node(format!("{who}: 1 iff input in {list}"));
            let z = add(g, zero);
            let o = add(g, one);
            g.add_edge(me, z, "0");
            g.add_edge(me, o, "1");
            me
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_small_tree() {
        let t = ProtocolNode::Alice {
            ones: vec![1],
            zero: Box::new(ProtocolNode::Leaf { output: 0 }),
            one: Box::new(ProtocolNode::Leaf { output: 1 }),
        };
        let dot = protocol_dot(&t);
        assert!(dot.starts_with("digraph protocol {"));
        assert!(dot.contains("Alice: 1 iff input in [1]"));
        assert_eq!(dot.matches("->").count(), 2);
    }
}
