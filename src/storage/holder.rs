//! Who holds a release operation: the process named in a claimed revision's record, and
//! whether that process is known to be gone (same machine, process no longer running), so
//! its claim can be taken at once instead of after the heartbeat goes stale.

use super::release;

/// Who holds an operation, recorded with the revision it claims.
#[derive(Debug, Clone, PartialEq)]
pub struct Holder {
    /// `user@host pid N (boot B, pid namespace I)`.
    pub holder: String,
    /// When the operation started (RFC 3339).
    pub started: String,
}

impl Holder {
    /// This process, started now.
    pub fn this_process() -> Holder {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("USERNAME"))
            .unwrap_or_else(|_| "unknown".into());
        let host = std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_string())
            .ok()
            .filter(|h| !h.is_empty())
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_else(|| "localhost".into());
        let machine = process_space()
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        Holder {
            holder: format!("{user}@{host} pid {}{machine}", std::process::id()),
            started: release::format_time(&release::now()),
        }
    }

    /// Whether the holder is a process of this machine's process space (same boot, same
    /// pid namespace) that is no longer running: it was killed or crashed mid-operation.
    /// A holder elsewhere, or one that cannot be told apart, is never called gone.
    pub fn is_gone(&self) -> bool {
        let Some(here) = process_space() else {
            return false;
        };
        let Some((pid, space)) = parse_holder(&self.holder) else {
            return false;
        };
        if space != here {
            return false;
        }
        match process_start(pid) {
            None => true,
            // The pid was reused by a process started after the operation began.
            Some(start) => chrono::DateTime::parse_from_rfc3339(&self.started)
                .map(|began| start > began.timestamp() as f64 + 1.0)
                .unwrap_or(false),
        }
    }
}

/// `boot B, pid namespace I` for this process: pids mean the same process only within one
/// boot and one pid namespace.
fn process_space() -> Option<String> {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let namespace = std::fs::read_link("/proc/self/ns/pid").ok()?;
    let namespace = namespace
        .to_str()?
        .strip_prefix("pid:[")?
        .strip_suffix(']')?;
    Some(format!(
        "boot {}, pid namespace {namespace}",
        boot.trim().get(..8)?
    ))
}

/// The pid and process space in a holder string written by [`Holder::this_process`].
fn parse_holder(holder: &str) -> Option<(u32, &str)> {
    let (_, rest) = holder.split_once(" pid ")?;
    let (pid, space) = rest.split_once(" (")?;
    Some((pid.parse().ok()?, space.strip_suffix(')')?))
}

/// When process `pid` started (seconds since the epoch), if it is running.
fn process_start(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at field 3.
    let after_name = &stat[stat.rfind(')')? + 2..];
    let ticks: f64 = after_name.split(' ').nth(19)?.parse().ok()?;
    let boot_time: f64 = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    // USER_HZ is 100 on every Linux architecture rudder runs on.
    const TICKS_PER_SECOND: f64 = 100.0;
    Some(boot_time + ticks / TICKS_PER_SECOND)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_running_and_a_finished_child_is_gone() {
        let me = Holder::this_process();
        assert!(
            me.holder
                .contains(&format!(" pid {} (boot ", std::process::id()))
        );
        assert!(!me.is_gone());
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let gone = Holder {
            holder: me.holder.replace(
                &format!(" pid {} ", std::process::id()),
                &format!(" pid {pid} "),
            ),
            ..me.clone()
        };
        assert!(gone.is_gone(), "{gone:?}");
        // Another machine's (or another pid namespace's) process is never called gone.
        let elsewhere = Holder {
            holder: format!("ci@runner pid {pid} (boot 00000000, pid namespace 1)"),
            ..me
        };
        assert!(!elsewhere.is_gone());
        assert!(
            !Holder {
                holder: format!("ci@runner pid {pid}"),
                started: elsewhere.started
            }
            .is_gone()
        );
    }
}
