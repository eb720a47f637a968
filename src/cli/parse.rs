//! Parsing argv with only the subcommand it names. clap's derive builds the
//! whole tree (seventeen subcommands, their arguments and help) on every
//! invocation, which cost more than anything else rrun does in user space
//! before `create` reaches the kernel (docs/performance.md). Here the tree
//! holds the global flags and the one subcommand named, so each invocation
//! builds a few arguments instead of a few hundred. Help, version, a missing
//! or unknown subcommand, and any error go through the whole tree, so their
//! output is clap's, unchanged.

use std::ffi::OsString;

use clap::{Args, Command as ClapCommand, FromArgMatches, Parser};

use super::{
    subcommand_in, CheckpointArgs, Cli, CreateArgs, DeleteArgs, EventsArgs, ExecArgs, GlobalFlags,
    IdArg, KillArgs, ListArgs, PsArgs, RestoreArgs, RunArgs, SpecArgs, UpdateArgs,
};

/// Parse argv (program name first) as `Cli::try_parse_from` would.
pub fn parse(args: &[OsString]) -> Result<Cli, clap::Error> {
    fast(args).map_or_else(|| Cli::try_parse_from(args), Ok)
}

/// The one-subcommand parse, or None where only the whole tree will do.
fn fast(args: &[OsString]) -> Option<Cli> {
    let rest = args.get(1..).unwrap_or_default();
    if rest.iter().any(|a| a == "-h" || a == "--help") {
        return None;
    }
    let sub = one_subcommand(subcommand_in(rest)?)?;
    let tree = GlobalFlags::augment_args(
        ClapCommand::new("rrun")
            .disable_version_flag(true)
            .disable_help_subcommand(true),
    )
    .subcommand(sub);
    let matches = tree.try_get_matches_from(args).ok()?;
    Cli::from_arg_matches(&matches).ok()
}

/// The subcommand `name` as the derived tree has it (its arguments; the
/// help text is the whole tree's business).
fn one_subcommand(name: &str) -> Option<ClapCommand> {
    let c = ClapCommand::new;
    Some(match name {
        "create" => CreateArgs::augment_args(c("create")),
        "start" => IdArg::augment_args(c("start")),
        "state" => IdArg::augment_args(c("state")),
        "kill" => KillArgs::augment_args(c("kill")),
        "delete" => DeleteArgs::augment_args(c("delete")),
        "run" => RunArgs::augment_args(c("run")),
        "list" => ListArgs::augment_args(c("list")),
        "spec" => SpecArgs::augment_args(c("spec")),
        "features" => c("features"),
        "pause" => IdArg::augment_args(c("pause")),
        "resume" => IdArg::augment_args(c("resume")),
        "ps" => PsArgs::augment_args(c("ps")),
        "exec" => ExecArgs::augment_args(c("exec")),
        "update" => UpdateArgs::augment_args(c("update")),
        "events" => EventsArgs::augment_args(c("events")),
        "checkpoint" => CheckpointArgs::augment_args(c("checkpoint")),
        "restore" => RestoreArgs::augment_args(c("restore")),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    fn argv(args: &[&str]) -> Vec<OsString> {
        std::iter::once("rrun")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect()
    }

    /// Every subcommand of the derived tree has its one-subcommand form,
    /// with the same arguments.
    #[test]
    fn covers_every_subcommand_with_the_same_arguments() {
        let whole = Cli::command();
        for sub in whole.get_subcommands() {
            let name = sub.get_name();
            let one = one_subcommand(name).unwrap_or_else(|| panic!("{name} is missing"));
            let ids = |c: &ClapCommand| {
                let mut v: Vec<String> = c
                    .get_arguments()
                    .filter(|a| a.get_id() != "help")
                    .map(|a| format!("{a:?}"))
                    .collect();
                v.sort();
                v
            };
            assert_eq!(ids(&one), ids(sub), "{name}");
        }
    }

    /// Both parses agree on what the command line says.
    #[test]
    fn agrees_with_the_whole_tree() {
        let lines: &[&[&str]] = &[
            &[
                "--root",
                "/r",
                "create",
                "--bundle",
                "/b",
                "--pid-file",
                "/p",
                "c1",
            ],
            &[
                "--debug",
                "--log",
                "/l",
                "--log-format",
                "json",
                "start",
                "c1",
            ],
            &["state", "c1"],
            &["kill", "--all", "c1", "KILL"],
            &["delete", "-f", "c1"],
            &["run", "-d", "--bundle", "/b", "--preserve-fds", "2", "c1"],
            &["list", "-q"],
            &["spec", "--rootless"],
            &["features"],
            &["pause", "c1"],
            &["resume", "c1"],
            &["ps", "--format", "json", "c1"],
            &["exec", "-t", "--env", "A=b", "c1", "sh", "-c", "echo -x"],
            &["update", "--memory", "1000000", "c1"],
            &["events", "--stats", "c1"],
            &["--systemd-cgroup", "--rootless", "true", "checkpoint", "c1"],
            &["restore", "c1"],
        ];
        for line in lines {
            let args = argv(line);
            let whole = Cli::try_parse_from(&args).map(|c| format!("{c:?}"));
            let whole = whole.unwrap_or_else(|e| panic!("{line:?}: {e}"));
            let one = fast(&args).map(|c| format!("{c:?}"));
            assert_eq!(one.as_deref(), Some(whole.as_str()), "{line:?}");
        }
    }

    /// Help and errors come from the whole tree.
    #[test]
    fn leaves_help_and_errors_to_the_whole_tree() {
        for line in [
            &["create", "--help"][..],
            &["--help"],
            &["help", "run"],
            &["create"],
            &["nosuch", "x"],
            &["state", "a", "b"],
            &["--version"],
        ] {
            assert!(fast(&argv(line)).is_none(), "{line:?}");
        }
    }
}
