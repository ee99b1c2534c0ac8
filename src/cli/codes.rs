//! The codes of the commands' own errors (flags, files, the SP-API, the journal), one list so
//! docs/ci.md's table and its failing examples can be held equal to it (`tests/fixtures.rs`).
//! A code is a contract scripts match on: add one, never rename one without a note in
//! docs/ci.md's "Renamed codes".

/// `plan --out`: an input file cannot be read for the digest the plan records.
pub const PLAN_INPUT: &str = "allot::plan::input";
/// `plan --out` without current listings (nor `--allow-new`).
pub const PLAN_NO_CURRENT: &str = "allot::plan::no-current";
/// `plan --deny-warnings` with warnings.
pub const PLAN_WARNINGS_DENIED: &str = "allot::plan::warnings-denied";
/// The table's rows could not be kept in a temporary file.
pub const PLAN_SPOOL: &str = "allot::plan::spool";
/// `diff --deny-warnings` with warnings on the new side.
pub const DIFF_WARNINGS_DENIED: &str = "allot::diff::warnings-denied";
/// The SP-API credentials are missing or unreadable.
pub const CREDENTIALS: &str = "allot::credentials";
/// `--endpoint`, `--lwa-endpoint` or `--rate-scale` are not usable.
pub const ENDPOINT: &str = "allot::endpoint";
/// The live listings or supply sources could not be read, or a `supply_source` is unusable.
pub const CURRENT_LIVE: &str = "allot::current-live";
/// `--current live` given to a command that reads only files.
pub const LIVE_ONLY_IN_PLAN: &str = "allot::live-only-in-plan";
/// `--current-marketplace` unknown, or given without `--current FILE`.
pub const CURRENT_MARKETPLACE: &str = "allot::current-marketplace";
/// `--inventory -` that cannot be read: a terminal, given twice, unreadable, or not read by
/// the command.
pub const STDIN: &str = "allot::stdin";
/// A policy path that is missing or unreadable, or a folder without `*.allot` files.
pub const POLICY_PATH: &str = "allot::policy-path";
/// An inventory kit that also has rows of its own.
pub const KIT_HAS_ROWS: &str = "allot::kit-has-rows";
/// The output cannot be written (standard output closed or full, a file not writable).
pub const OUTPUT: &str = "allot::output";
/// The async runtime or the signal handlers cannot start.
pub const RUNTIME: &str = "allot::runtime";
/// Ctrl-C (or SIGTERM) stopped the command.
pub const INTERRUPTED: &str = "allot::interrupted";
/// A worker of allot's stopped unexpectedly: a bug.
pub const INTERNAL: &str = "allot::internal";
/// `test --min-coverage N` with less coverage.
pub const TEST_MIN_COVERAGE: &str = "allot::test::min-coverage";
/// `sources`: the Supply Sources API call failed.
pub const SOURCES: &str = "allot::sources";
/// `sources --region` unknown, or policies of several regions without one.
pub const SOURCES_REGION: &str = "allot::sources::region";
/// `apply`: the journal cannot be opened or written, or belongs to another plan.
pub const JOURNAL: &str = "allot::journal";
/// `apply`: a fatal SP-API error stopped the run.
pub const APPLY: &str = "allot::apply";
/// `apply`: the plan's `created_at` is not an RFC 3339 time.
pub const PLAN_AGE: &str = "allot::plan-age";
/// `apply`: the plan is older than `--max-age`.
pub const PLAN_TOO_OLD: &str = "allot::plan-too-old";
/// `sandbox --addr` not on loopback without `--allow-remote`.
pub const SANDBOX_REMOTE: &str = "allot::sandbox::remote";
/// `sandbox`: cannot listen, or the settings are out of range.
pub const SANDBOX_START: &str = "allot::sandbox::start";
/// `sandbox --state`: the state file cannot be read, is not a state, or cannot be saved.
pub const SANDBOX_STATE: &str = "allot::sandbox::state";
/// `sandbox --listings` or `--supply-sources`: the seed file is unreadable or refused.
pub const SANDBOX_SEED: &str = "allot::sandbox::seed";
/// `init --out` names a file that exists (without `--force`).
pub const INIT_OUT_EXISTS: &str = "allot::init::out-exists";
/// `init --seller` blank or a marketplace ID.
pub const INIT_SELLER: &str = "allot::init::seller";
/// `init`: the inventory has no stock rows.
pub const INIT_NO_STOCK: &str = "allot::init::no-stock";
/// `init`: an inventory location no policy name can be made of.
pub const INIT_LOCATION_NAME: &str = "allot::init::location-name";
/// `init`: the marketplaces are unknown, none, or of several regions.
pub const INIT_MARKETPLACES: &str = "allot::init::marketplaces";
/// `init` generated a policy that does not pass: a bug.
pub const INIT_GENERATED_INVALID: &str = "allot::init::generated-invalid";

/// Every code of the commands' own errors.
pub const ALL: &[&str] = &[
    PLAN_INPUT,
    PLAN_NO_CURRENT,
    PLAN_WARNINGS_DENIED,
    PLAN_SPOOL,
    DIFF_WARNINGS_DENIED,
    CREDENTIALS,
    ENDPOINT,
    CURRENT_LIVE,
    LIVE_ONLY_IN_PLAN,
    CURRENT_MARKETPLACE,
    STDIN,
    POLICY_PATH,
    KIT_HAS_ROWS,
    OUTPUT,
    RUNTIME,
    INTERRUPTED,
    INTERNAL,
    TEST_MIN_COVERAGE,
    SOURCES,
    SOURCES_REGION,
    JOURNAL,
    APPLY,
    PLAN_AGE,
    PLAN_TOO_OLD,
    SANDBOX_REMOTE,
    SANDBOX_START,
    SANDBOX_STATE,
    SANDBOX_SEED,
    INIT_OUT_EXISTS,
    INIT_SELLER,
    INIT_NO_STOCK,
    INIT_LOCATION_NAME,
    INIT_MARKETPLACES,
    INIT_GENERATED_INVALID,
];

/// The shared errors more than one command gives, built in one place so each says the same.
pub mod report {
    use miette::{Report, miette};

    /// The output could not be written: `what` names it (`the preview`, `SARIF`).
    pub fn output(what: &str, e: impl std::fmt::Display) -> Report {
        miette!(
            code = super::OUTPUT,
            help = "standard output (or the file) could not take the output: check that the disk has room and that whatever reads the output is still running",
            "cannot write {what}: {e}"
        )
    }

    /// The async runtime (or a signal handler) could not start.
    pub fn runtime(what: &str, e: impl std::fmt::Display) -> Report {
        miette!(
            code = super::RUNTIME,
            help = "the system refused threads or signal handlers: check the process limits (`ulimit -u`) and memory, then run again",
            "cannot start {what}: {e}"
        )
    }

    /// A policy path that is missing, unreadable, or a folder without policies.
    pub fn policy_path(message: impl std::fmt::Display) -> Report {
        miette!(
            code = super::POLICY_PATH,
            help = "give policy files, or folders that hold `*.allot` files, that exist and can be read",
            "{message}"
        )
    }

    /// Ctrl-C or SIGTERM stopped the command; `resume` says how to go on.
    pub fn interrupted(resume: &str) -> Report {
        miette!(
            code = super::INTERRUPTED,
            help = resume.to_string(),
            "interrupted"
        )
    }

    /// A worker thread or task of allot's stopped unexpectedly.
    pub fn internal(what: &str, e: impl std::fmt::Display) -> Report {
        miette!(
            code = super::INTERNAL,
            help = "this is a bug in allot: please report it with the command line; running again is safe",
            "{what} stopped unexpectedly: {e}"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_kebab_case() {
        let mut seen = std::collections::BTreeSet::new();
        for c in ALL {
            assert!(seen.insert(*c), "{c} twice");
            let rest = c.strip_prefix("allot::").expect(c);
            assert!(
                rest.split("::")
                    .all(|p| !p.is_empty()
                        && p.chars().all(|ch| ch.is_ascii_lowercase() || ch == '-')),
                "{c} is not kebab-case"
            );
        }
    }

    /// The shared errors no example can make from outside (a full disk is `/dev/full` in the
    /// examples; a runtime that will not start, an interruption mid-run and a bug are not):
    /// each has its code, a message and a help.
    #[test]
    fn shared_errors_carry_their_code_and_help() {
        let cases = [
            (report::runtime("the async runtime", "no threads"), RUNTIME),
            (report::interrupted("run it again"), INTERRUPTED),
            (report::internal("the plan reader", "panicked"), INTERNAL),
            (report::output("the preview", "disk full"), OUTPUT),
            (
                report::policy_path("no such file or folder: x"),
                POLICY_PATH,
            ),
        ];
        for (r, code) in cases {
            assert_eq!(r.code().map(|c| c.to_string()).as_deref(), Some(code));
            assert!(r.help().is_some(), "{code} has no help");
            assert!(!r.to_string().is_empty());
        }
    }
}
