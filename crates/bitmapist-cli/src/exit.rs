//! Exit codes and the one-line error report: 2 for usage errors, 1 for runtime failures.
//! Nothing here ever prints a stack trace; a panic is reported as one line too.

use std::io::{self, Write};
use std::process::ExitCode;

/// A mistake in the command line that clap could not see (exit code 2).
#[derive(Debug)]
pub struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// A usage error with this message.
pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Usage(msg.into()))
}

/// Exit code 2: the command line was wrong.
pub const USAGE: u8 = 2;
/// Exit code 1: the command was right but failed (store unreachable, I/O...).
pub const RUNTIME: u8 = 1;

/// Whether an engine error comes from what the user typed rather than from the store.
fn engine_usage(e: &bitmapist::Error) -> bool {
    matches!(
        e,
        bitmapist::Error::InvalidArgument { .. }
            | bitmapist::Error::InvalidUrl { .. }
            | bitmapist::Error::UnknownTimeGroup(_)
            | bitmapist::Error::Config { .. }
            | bitmapist::Error::DateOutOfRange(_)
            | bitmapist::Error::UnknownTimeZone(_)
            | bitmapist::Error::TimeZoneMismatch { .. }
            | bitmapist::Error::UnrecordedTimeZone { .. }
    )
}

/// The exit code of an error: 2 for usage errors (ours and the engine's argument, URL,
/// configuration and date errors), 1 for everything else.
pub fn code(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if cause.is::<Usage>() {
            return USAGE;
        }
        if let Some(e) = cause.downcast_ref::<bitmapist::Error>() {
            return if engine_usage(e) { USAGE } else { RUNTIME };
        }
    }
    RUNTIME
}

/// Whether the error is a closed stdout (`bitmapist ids ... | head`): not a failure.
fn broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Text on one line: newlines and runs of spaces collapsed.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Prints `error: ...` on one line to stderr and returns the exit code.
pub fn report(err: &anyhow::Error) -> ExitCode {
    if broken_pipe(err) {
        return ExitCode::SUCCESS;
    }
    let _ = writeln!(io::stderr(), "error: {}", message(err));
    ExitCode::from(code(err))
}

/// The error and its causes on one line, skipping a cause whose text is already shown (the
/// engine's errors include their source in their own message).
pub fn message(err: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in err.chain() {
        let text = one_line(&cause.to_string());
        if !msg.contains(&text) {
            if !msg.is_empty() {
                msg.push_str(": ");
            }
            msg.push_str(&text);
        }
    }
    msg
}

/// Reports a clap error: help and version go to stdout (exit 0); a usage error is one
/// line on stderr, exit 2.
pub fn clap_error(err: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = err.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = err.print();
            ExitCode::from(USAGE)
        }
        _ => {
            // clap's message: "error: ...", details, a blank line, then usage and a hint.
            let rendered = err.render().to_string();
            let message = rendered
                .split("\n\n")
                .next()
                .unwrap_or_default()
                .trim_start_matches("error:");
            let _ = writeln!(
                io::stderr(),
                "error: {} (see --help)",
                one_line(message).trim_end_matches('.')
            );
            ExitCode::from(USAGE)
        }
    }
}

/// Replaces the panic message (and any backtrace) with one `error:` line.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        let _ = writeln!(
            io::stderr(),
            "error: internal error (a bug, please report it): {}",
            one_line(&msg)
        );
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(code(&usage("bad")), USAGE);
        let url = "mysql://x".parse::<bitmapist::StoreUrl>().err();
        let url = url.unwrap_or_else(|| bitmapist::Error::UnknownSystem("x".into()));
        assert_eq!(code(&anyhow::Error::new(url).context("opening")), USAGE);
        assert_eq!(
            code(&anyhow::Error::new(bitmapist::Error::UnknownSystem(
                "x".into()
            ))),
            RUNTIME
        );
        assert_eq!(code(&anyhow::anyhow!("disk full")), RUNTIME);
    }

    #[test]
    fn causes_already_in_the_message_are_not_repeated() {
        let io = io::Error::new(io::ErrorKind::ConnectionRefused, "refused");
        let e = anyhow::Error::new(bitmapist::Error::Io {
            context: "connecting: refused".into(),
            source: io,
        })
        .context("opening the store");
        assert_eq!(
            message(&e),
            "opening the store: connecting: refused: refused"
        );
        let e = anyhow::anyhow!("disk\nfull").context("writing");
        assert_eq!(message(&e), "writing: disk full");
    }

    #[test]
    fn one_line_collapses() {
        assert_eq!(one_line("a\n  b\tc "), "a b c");
    }
}
