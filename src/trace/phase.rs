//! Deciding the outcome the way Antrea's controller does (antrea-traceflow.md §1.6), and the exit
//! code scripts rely on.

use crate::antrea::observation::{Action, Component, NodeResult, Phase};

/// How the path ended, for the exit code (0, 1, 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathOutcome {
    /// Delivered, or forwarded out of the network.
    Delivered,
    /// Dropped or rejected somewhere.
    Dropped,
    /// No terminal observation.
    Incomplete,
}

/// Succeeded when some node saw the SpoofGuard observation (the probe left a local Pod) and some
/// node saw a terminal action (Delivered, Dropped, Rejected, ForwardedOutOfNetwork); or, when there
/// is no source Pod, a terminal action alone. Otherwise the path is incomplete.
pub fn phase(results: &[NodeResult], has_source_pod: bool) -> Phase {
    let all = || results.iter().flat_map(|r| r.observations.iter());
    let sender = all().any(|o| o.component == Component::SpoofGuard);
    let receiver = all().any(|o| o.action.is_terminal());
    if receiver && (sender || !has_source_pod) {
        Phase::Succeeded
    } else {
        Phase::Failed
    }
}

/// How the path ended: delivered (or out of the network), dropped or rejected, or incomplete.
pub fn outcome(results: &[NodeResult], phase: Phase) -> PathOutcome {
    if phase != Phase::Succeeded {
        return PathOutcome::Incomplete;
    }
    let dropped = results
        .iter()
        .flat_map(|r| r.observations.iter())
        .any(|o| matches!(o.action, Action::Dropped | Action::Rejected));
    if dropped {
        PathOutcome::Dropped
    } else {
        PathOutcome::Delivered
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::antrea::observation::Observation;

    fn node(obs: Vec<(Component, Action)>) -> NodeResult {
        NodeResult {
            node: "n".into(),
            role: None,
            timestamp: None,
            observations: obs.into_iter().map(|(c, a)| Observation::new(c, a)).collect(),
            hops: vec![],
        }
    }

    #[test]
    fn antrea_rules() {
        let sent = node(vec![(Component::SpoofGuard, Action::Forwarded), (Component::Forwarding, Action::Forwarded)]);
        let got = node(vec![(Component::Forwarding, Action::Received), (Component::Forwarding, Action::Delivered)]);
        let both = vec![sent.clone(), got.clone()];
        assert_eq!(phase(&both, true), Phase::Succeeded);
        assert_eq!(outcome(&both, Phase::Succeeded), PathOutcome::Delivered);
        // Forwarded alone is not terminal.
        assert_eq!(phase(std::slice::from_ref(&sent), true), Phase::Failed);
        assert_eq!(outcome(&[sent], Phase::Failed), PathOutcome::Incomplete);
        // Receiver only: enough without a source Pod.
        assert_eq!(phase(std::slice::from_ref(&got), false), Phase::Succeeded);
        assert_eq!(phase(std::slice::from_ref(&got), true), Phase::Failed);
        let drop = node(vec![(Component::SpoofGuard, Action::Forwarded), (Component::NetworkPolicy, Action::Dropped)]);
        assert_eq!(
            outcome(std::slice::from_ref(&drop), phase(std::slice::from_ref(&drop), true)),
            PathOutcome::Dropped
        );
        let legacy = node(vec![
            (Component::SpoofGuard, Action::Forwarded),
            (Component::Forwarding, Action::ForwardedOutOfOverlay),
        ]);
        assert_eq!(phase(&[legacy], true), Phase::Succeeded);
    }
}
