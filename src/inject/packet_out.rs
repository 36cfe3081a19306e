//! The Antrea way of injecting: an OpenFlow packet-out at the source Pod's OVS port with
//! `actions=table`, so the frame enters the pipeline at table 0 as if it came from the Pod
//! (antrea-traceflow.md §3.2). hoptrace only prints the command; the user runs it on the node.

use crate::probe::schema::to_hex;

/// The `ovs-ofctl packet-out` command that injects `frame` into `bridge` as if it arrived on
/// `in_port` (an OpenFlow port number or name). OpenFlow 1.5 as Antrea's br-int speaks it; the
/// frame already carries the DSCP tag, so the only action is `table` (OFPP_TABLE).
pub fn packet_out_command(bridge: &str, in_port: &str, frame: &[u8]) -> String {
    let spec = format!("in_port={in_port},packet={},actions=table", to_hex(frame));
    format!("ovs-ofctl -O OpenFlow15 packet-out {} {}", shell_quote(bridge), shell_quote(&spec))
}

/// `s` quoted for a POSIX shell: bare when it holds only safe characters, else in single quotes.
pub fn shell_quote(s: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_-./:=,@%+".contains(c);
    if !s.is_empty() && s.chars().all(safe) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_shape() {
        assert_eq!(
            packet_out_command("br-int", "5", &[0x02, 0xab]),
            "ovs-ofctl -O OpenFlow15 packet-out br-int in_port=5,packet=02ab,actions=table"
        );
        assert_eq!(
            packet_out_command("br int", "my port", &[0xff]),
            "ovs-ofctl -O OpenFlow15 packet-out 'br int' 'in_port=my port,packet=ff,actions=table'"
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("unix:/run/x.mgmt"), "unix:/run/x.mgmt");
        assert_eq!(shell_quote("$(rm)"), "'$(rm)'");
    }
}
